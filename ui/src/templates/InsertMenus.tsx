import { useState } from "react";
import { Link } from "react-router-dom";
import type { ContentBlock } from "../api/client";
import { ErrorAlert } from "../components/Alert";
import { Dropdown } from "../components/Dropdown";
import { groupTokens, tokenText } from "./model";
import { useContentBlocks, useTemplateTokens } from "./queries";

/** "Insert token": every token of the workspace by group, searchable; a pick inserts `{{ token }}` at the caret. */
export function TokenMenu({ onInsert, label = "Insert token", disabled }: { onInsert: (text: string) => void; label?: string; disabled?: boolean }) {
  return (
    <Dropdown text="{ } Token" label={label} panelLabel="Tokens" disabled={disabled}>
      {(close) => (
        <TokenList
          onPick={(text) => {
            onInsert(text);
            close();
          }}
        />
      )}
    </Dropdown>
  );
}

function TokenList({ onPick }: { onPick: (text: string) => void }) {
  const tokens = useTemplateTokens();
  const [search, setSearch] = useState("");
  const groups = groupTokens(tokens.data ?? [], search);
  return (
    <div className="token-menu">
      <input
        className="input input-sm"
        type="search"
        placeholder="Find a token…"
        aria-label="Find a token"
        value={search}
        autoFocus
        onChange={(event) => setSearch(event.target.value)}
      />
      <ErrorAlert error={tokens.error} />
      {tokens.isPending && <p className="muted small">Loading…</p>}
      {groups.map((group) => (
        <div key={group.group} className="token-group" role="group" aria-label={group.group}>
          <div className="token-group-title">{group.group}</div>
          {group.tokens.map((token) => (
            <button
              key={token.token}
              type="button"
              className="token-item"
              data-testid="token-item"
              title={token.example ? `e.g. ${token.example}` : undefined}
              onMouseDown={(event) => event.preventDefault()}
              onClick={() => onPick(tokenText(token.token))}
            >
              <span>{token.label}</span>
              <code>{token.token}</code>
            </button>
          ))}
        </div>
      ))}
      {tokens.data && groups.length === 0 && <p className="muted small">No token matches.</p>}
      <p className="muted small token-hint">
        Fallback: <code>{'{{ lead.first_name | default("there", true) }}'}</code>
      </p>
    </div>
  );
}

/** "Insert block": the workspace's reusable headers, footers and signatures. */
export function BlockMenu({ onInsert, disabled }: { onInsert: (block: ContentBlock) => void; disabled?: boolean }) {
  return (
    <Dropdown text="Block" label="Insert content block" panelLabel="Content blocks" disabled={disabled}>
      {(close) => (
        <BlockList
          onPick={(block) => {
            onInsert(block);
            close();
          }}
        />
      )}
    </Dropdown>
  );
}

function BlockList({ onPick }: { onPick: (block: ContentBlock) => void }) {
  const blocks = useContentBlocks();
  const rows = blocks.data ?? [];
  return (
    <div className="token-menu">
      <ErrorAlert error={blocks.error} />
      {blocks.isPending && <p className="muted small">Loading…</p>}
      {blocks.data && rows.length === 0 && <p className="muted small">No content blocks yet.</p>}
      {rows.map((block) => (
        <button
          key={block.id}
          type="button"
          className="token-item"
          data-testid="block-item"
          onMouseDown={(event) => event.preventDefault()}
          onClick={() => onPick(block)}
        >
          <span>{block.name}</span>
          <span className="tag">{block.kind}</span>
        </button>
      ))}
      <Link to="/templates/blocks" className="small token-hint">
        Manage content blocks →
      </Link>
    </div>
  );
}
