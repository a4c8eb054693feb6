import { useCallback, useEffect, useMemo, useState } from "react";
import {
  QueryBuilder,
  type Field,
  type FullOperator,
  type RuleGroupType,
  type RuleType,
  type ValueEditorProps,
} from "react-querybuilder";
import { errorMessage, type FieldInfo } from "../api/client";
import { useCampaigns, useLists } from "../api/queries";
import {
  RELATIVE_UNITS,
  defaultValue,
  editorKind,
  fieldMap,
  filterErrorText,
  operatorLabel,
  splitList,
  type EngagementValue,
  type RelativeUnit,
  type RelativeValue,
} from "./model";

/** What every value editor may need besides its rule. */
type EditorContext = {
  fields: ReadonlyMap<string, FieldInfo>;
  lists: { id: number; name: string }[];
  campaigns: { id: number; name: string }[];
};

type Props = {
  /** The catalogue of GET /api/leads/fields. */
  fields: readonly FieldInfo[];
  query: RuleGroupType;
  onQueryChange: (query: RuleGroupType) => void;
  /** The builder id of the rule the last 422 was about (outlined), and that error (shown under the builder). */
  errorId?: string | null;
  error?: unknown;
  /** A note under the builder, e.g. "1 incomplete rule is not applied yet". */
  note?: string | null;
  disabled?: boolean;
};

/** react-querybuilder configured from the workspace's field catalogue, with editors for the API's value shapes. */
export function FilterBuilder({ fields, query, onQueryChange, errorId, error, note, disabled }: Props) {
  const lists = useLists();
  const campaigns = useCampaigns();
  const byName = useMemo(() => fieldMap(fields), [fields]);
  const options = useMemo<Field[]>(() => fields.map((f) => ({ name: f.name, value: f.name, label: f.label })), [fields]);

  const getOperators = useCallback(
    (field: string): FullOperator[] => {
      const info = byName.get(field);
      const type = info?.type ?? "text";
      return (info?.operators ?? ["="]).map((op) => ({ name: op, value: op, label: operatorLabel(type, op) }));
    },
    [byName],
  );

  const getDefaultOperator = useCallback(
    (field: string) => {
      const info = byName.get(field);
      // Dates read best as "in the last 30 days".
      if (info?.type === "date" && info.operators.includes("inLast")) return "inLast";
      return info?.operators[0] ?? "=";
    },
    [byName],
  );

  const getDefaultValue = useCallback(
    (rule: RuleType) => {
      const info = byName.get(rule.field);
      return defaultValue(editorKind(info?.type ?? "text", rule.operator), info?.choices);
    },
    [byName],
  );

  const context = useMemo<EditorContext>(
    () => ({
      fields: byName,
      lists: (lists.data ?? []).map((l) => ({ id: l.id, name: l.name })),
      campaigns: (campaigns.data ?? []).map((c) => ({ id: c.id, name: c.name })),
    }),
    [byName, lists.data, campaigns.data],
  );

  const ruleClass = useCallback((rule: RuleType) => (errorId && rule.id === errorId ? "rule-error" : ""), [errorId]);
  const groupClass = useCallback(
    (group: RuleGroupType) => (errorId && group.id === errorId ? "ruleGroup-error" : ""),
    [errorId],
  );

  return (
    <div className="filter-builder">
      <QueryBuilder
        fields={options}
        query={query}
        onQueryChange={onQueryChange}
        getOperators={getOperators}
        getDefaultOperator={getDefaultOperator}
        getDefaultValue={getDefaultValue}
        resetOnOperatorChange
        showNotToggle
        maxLevels={5}
        controlElements={{ valueEditor: FilterValueEditor }}
        context={context}
        getRuleClassname={ruleClass}
        getRuleGroupClassname={groupClass}
        disabled={disabled}
        translations={{ notToggle: { label: "Not", title: "Invert this group" } }}
      />
      {Boolean(error) && (
        <div className="filter-error" role="alert" data-testid="filter-error">
          {filterErrorText(errorMessage(error))}
        </div>
      )}
      {note && !error && <div className="filter-note muted">{note}</div>}
    </div>
  );
}

/** One editor per value shape; the plain ones are an <input class="rule-value"> like react-querybuilder's own. */
export function FilterValueEditor(props: ValueEditorProps) {
  const { field, operator, value, handleOnChange, disabled, title } = props;
  const ctx = props.context as EditorContext | undefined;
  const info = ctx?.fields.get(field);
  const kind = editorKind(info?.type ?? "text", operator);
  const className = `${props.className ?? "rule-value"} input input-sm`;

  switch (kind) {
    case "none":
      return null;
    case "number":
      return (
        <input
          type="number"
          className={className}
          title={title}
          disabled={disabled}
          value={typeof value === "number" || typeof value === "string" ? value : ""}
          onChange={(event) => handleOnChange(toNumber(event.target.value))}
        />
      );
    case "date":
      return (
        <input
          type="date"
          className={className}
          title={title}
          disabled={disabled}
          value={typeof value === "string" ? value : ""}
          onChange={(event) => handleOnChange(event.target.value)}
        />
      );
    case "numberRange":
    case "dateRange": {
      const pair = Array.isArray(value) ? value : ["", ""];
      const type = kind === "numberRange" ? "number" : "date";
      const set = (index: 0 | 1, raw: string) => {
        const next = [pair[0] ?? "", pair[1] ?? ""];
        next[index] = type === "number" ? toNumber(raw) : raw;
        handleOnChange(next);
      };
      return (
        <span className={`${props.className ?? "rule-value"} value-pair`} title={title}>
          <input
            type={type}
            className="rule-value-list-item input input-sm"
            aria-label="From"
            disabled={disabled}
            value={pair[0] ?? ""}
            onChange={(event) => set(0, event.target.value)}
          />
          <span className="muted">and</span>
          <input
            type={type}
            className="rule-value-list-item input input-sm"
            aria-label="To"
            disabled={disabled}
            value={pair[1] ?? ""}
            onChange={(event) => set(1, event.target.value)}
          />
        </span>
      );
    }
    case "relative": {
      const current: RelativeValue = isObject(value)
        ? { amount: (value.amount as number | "") ?? "", unit: (value.unit as RelativeUnit) ?? "days" }
        : { amount: 30, unit: "days" };
      return (
        <span className={`${props.className ?? "rule-value"} value-pair`} title={title}>
          <input
            type="number"
            min={1}
            className="rule-value-list-item input input-sm input-amount"
            aria-label="Amount"
            disabled={disabled}
            value={current.amount}
            onChange={(event) => handleOnChange({ ...current, amount: toInteger(event.target.value) })}
          />
          <select
            className="rule-value-list-item input input-sm"
            aria-label="Unit"
            disabled={disabled}
            value={current.unit}
            onChange={(event) => handleOnChange({ ...current, unit: event.target.value as RelativeUnit })}
          >
            {RELATIVE_UNITS.map((unit) => (
              <option key={unit} value={unit}>
                {unit}
              </option>
            ))}
          </select>
          {operator === "moreThanAgo" && <span className="muted">ago</span>}
        </span>
      );
    }
    case "engagement": {
      const current: EngagementValue = isObject(value)
        ? { days: (value.days as number | "") ?? "", campaign_id: (value.campaign_id as number | null) ?? null }
        : { days: 30, campaign_id: null };
      return (
        <span className={`${props.className ?? "rule-value"} value-pair`} title={title}>
          <input
            type="number"
            min={1}
            className="rule-value-list-item input input-sm input-amount"
            aria-label="Days"
            disabled={disabled}
            value={current.days}
            onChange={(event) => handleOnChange({ ...current, days: toInteger(event.target.value) })}
          />
          <span className="muted">days, from</span>
          <select
            className="rule-value-list-item input input-sm"
            aria-label="Campaign"
            disabled={disabled}
            value={current.campaign_id ?? ""}
            onChange={(event) =>
              handleOnChange({ ...current, campaign_id: event.target.value ? Number(event.target.value) : null })
            }
          >
            <option value="">any campaign</option>
            {(ctx?.campaigns ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </span>
      );
    }
    case "textList":
    case "tags":
      return (
        <ListInput
          className={className}
          title={title}
          disabled={disabled}
          value={Array.isArray(value) ? (value as unknown[]).map(String) : []}
          placeholder={kind === "tags" ? "vip, webinar" : "a, b, c"}
          onChange={handleOnChange}
        />
      );
    case "choice": {
      // A text input with the choices as suggestions (typing works as with react-querybuilder's default editor).
      const listId = `rule-choices-${props.path.join("-")}-${field.replace(/[^\w-]/g, "_")}`;
      return (
        <>
          <input
            type="text"
            className={className}
            title={title}
            disabled={disabled}
            list={listId}
            placeholder={(info?.choices ?? []).slice(0, 3).join(", ")}
            value={typeof value === "string" ? value : ""}
            onChange={(event) => handleOnChange(event.target.value)}
          />
          <datalist id={listId}>
            {(info?.choices ?? []).map((choice) => (
              <option key={choice} value={choice} />
            ))}
          </datalist>
        </>
      );
    }
    case "choiceList": {
      const chosen = new Set(Array.isArray(value) ? (value as unknown[]).map(String) : []);
      const toggle = (choice: string) => {
        const next = new Set(chosen);
        if (next.has(choice)) next.delete(choice);
        else next.add(choice);
        handleOnChange((info?.choices ?? []).filter((c) => next.has(c)));
      };
      return (
        <span className={`${props.className ?? "rule-value"} choice-list`} title={title}>
          {(info?.choices ?? []).map((choice) => (
            <label key={choice} className="choice">
              <input type="checkbox" disabled={disabled} checked={chosen.has(choice)} onChange={() => toggle(choice)} />
              {choice}
            </label>
          ))}
          {(info?.choices ?? []).length === 0 && <span className="muted">no choices defined</span>}
        </span>
      );
    }
    case "boolean":
      return (
        <select
          className={className}
          title={title}
          disabled={disabled}
          value={value === false ? "false" : "true"}
          onChange={(event) => handleOnChange(event.target.value === "true")}
        >
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      );
    case "list":
      return (
        <select
          className={className}
          title={title}
          disabled={disabled}
          value={typeof value === "number" ? value : ""}
          onChange={(event) => handleOnChange(event.target.value ? Number(event.target.value) : "")}
        >
          <option value="">Choose a list…</option>
          {(ctx?.lists ?? []).map((list) => (
            <option key={list.id} value={list.id}>
              {list.name}
            </option>
          ))}
        </select>
      );
    default:
      return (
        <input
          type="text"
          className={className}
          title={title}
          disabled={disabled}
          value={typeof value === "string" || typeof value === "number" ? value : ""}
          onChange={(event) => handleOnChange(event.target.value)}
        />
      );
  }
}

/** A comma-separated input holding a string[]; keeps what is typed (", " included) while it parses. */
function ListInput({
  value,
  onChange,
  className,
  title,
  disabled,
  placeholder,
}: {
  value: string[];
  onChange: (value: string[]) => void;
  className: string;
  title?: string;
  disabled?: boolean;
  placeholder: string;
}) {
  const [text, setText] = useState(value.join(", "));
  // Follow changes made elsewhere (a reset), not the echo of our own typing.
  useEffect(() => {
    setText((current) => (sameList(splitList(current), value) ? current : value.join(", ")));
  }, [value]);
  return (
    <input
      type="text"
      className={className}
      title={title}
      disabled={disabled}
      placeholder={placeholder}
      value={text}
      onChange={(event) => {
        setText(event.target.value);
        onChange(splitList(event.target.value));
      }}
    />
  );
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An <input type="number"> value as a number, "" while empty or unparsable. */
function toNumber(raw: string): number | "" {
  if (raw.trim() === "") return "";
  const n = Number(raw);
  return Number.isFinite(n) ? n : "";
}

function toInteger(raw: string): number | "" {
  const n = toNumber(raw);
  return n === "" ? "" : Math.trunc(n);
}
