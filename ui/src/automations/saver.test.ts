import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DraftSaver, canonicalJson } from "./saver";

type Doc = { nodes: string[]; reentry?: string };

/** A save the test answers by hand. */
function server() {
  const requests: { value: Doc; resolve: () => void; reject: (error: Error) => void }[] = [];
  const save = vi.fn(
    (value: Doc) =>
      new Promise<void>((resolve, reject) => {
        requests.push({ value, resolve, reject });
      }),
  );
  return { save, requests };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("the draft's autosave", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("saves once, a moment after the last change, and says where it is", async () => {
    const { save, requests } = server();
    const saver = new DraftSaver<Doc>({ initial: { nodes: [] }, save, delayMs: 1000 });
    const seen: string[] = [];
    saver.subscribe(() => seen.push(saver.getState().status));

    saver.change({ nodes: ["a"] });
    vi.advanceTimersByTime(600);
    saver.change({ nodes: ["a", "b"] });
    vi.advanceTimersByTime(999);
    expect(save).not.toHaveBeenCalled();
    expect(saver.getState().status).toBe("pending");
    expect(saver.dirty).toBe(true);

    vi.advanceTimersByTime(1);
    expect(save).toHaveBeenCalledTimes(1);
    expect(requests[0]!.value).toEqual({ nodes: ["a", "b"] });
    expect(saver.getState().status).toBe("saving");
    requests[0]!.resolve();
    await settle();
    expect(saver.getState()).toMatchObject({ status: "saved", error: null });
    expect(saver.getState().savedAt).toBeInstanceOf(Date);
    expect(saver.dirty).toBe(false);
    expect(seen).toEqual(["pending", "pending", "saving", "saved"]);
  });

  it("saves nothing for a change back to what is saved, whatever its key order", () => {
    const { save } = server();
    const saver = new DraftSaver<Doc>({ initial: { nodes: ["a"], reentry: "once_ever" }, save, delayMs: 1000 });
    saver.change({ nodes: ["a", "b"] });
    saver.change({ reentry: "once_ever", nodes: ["a"] });
    expect(saver.getState().status).toBe("saved");
    vi.advanceTimersByTime(5000);
    expect(save).not.toHaveBeenCalled();
  });

  it("sends one request at a time: changes made meanwhile are saved after it", async () => {
    const { save, requests } = server();
    const saver = new DraftSaver<Doc>({ initial: { nodes: [] }, save, delayMs: 100 });
    saver.change({ nodes: ["a"] });
    vi.advanceTimersByTime(100);
    saver.change({ nodes: ["a", "b"] });
    vi.advanceTimersByTime(500);
    expect(save).toHaveBeenCalledTimes(1); // still waiting for the first answer
    requests[0]!.resolve();
    await settle();
    expect(saver.getState().status).toBe("saving");
    expect(save).toHaveBeenCalledTimes(2);
    expect(requests[1]!.value).toEqual({ nodes: ["a", "b"] });
    requests[1]!.resolve();
    await settle();
    expect(saver.getState().status).toBe("saved");
  });

  it("keeps a failed draft unsaved, with the error, until a retry or the next change", async () => {
    const { save, requests } = server();
    const saver = new DraftSaver<Doc>({ initial: { nodes: [] }, save, delayMs: 100 });
    saver.change({ nodes: ["a"] });
    vi.advanceTimersByTime(100);
    requests[0]!.reject(new Error("Cannot reach the Herald API"));
    await settle();
    expect(saver.getState()).toMatchObject({ status: "failed" });
    expect((saver.getState().error as Error).message).toBe("Cannot reach the Herald API");
    expect(saver.dirty).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(save).toHaveBeenCalledTimes(1); // no retry on its own

    saver.retry();
    expect(save).toHaveBeenCalledTimes(2);
    expect(requests[1]!.value).toEqual({ nodes: ["a"] });
    requests[1]!.resolve();
    await settle();
    expect(saver.getState()).toMatchObject({ status: "saved", error: null });
  });

  it("flush saves at once and resolves when the server has the latest draft; rejects when it fails", async () => {
    const { save, requests } = server();
    const saver = new DraftSaver<Doc>({ initial: { nodes: [] }, save, delayMs: 10_000 });
    await saver.flush(); // nothing to save
    expect(save).not.toHaveBeenCalled();

    saver.change({ nodes: ["a"] });
    const flushed = saver.flush();
    expect(save).toHaveBeenCalledTimes(1);
    requests[0]!.resolve();
    await expect(flushed).resolves.toBeUndefined();
    expect(saver.getState().status).toBe("saved");

    saver.change({ nodes: ["b"] });
    const failing = saver.flush();
    requests[1]!.reject(new Error("HTTP 500"));
    await expect(failing).rejects.toThrow("HTTP 500");
    expect(saver.getState().status).toBe("failed");
    vi.advanceTimersByTime(20_000);
    expect(save).toHaveBeenCalledTimes(2); // the timer was dropped by the flush
  });

  it("reset takes a value as saved, dropping what was pending", () => {
    const { save } = server();
    const saver = new DraftSaver<Doc>({ initial: { nodes: [] }, save, delayMs: 100 });
    saver.change({ nodes: ["mine"] });
    saver.reset({ nodes: ["theirs"] });
    expect(saver.getState().status).toBe("saved");
    expect(saver.saved).toBe(canonicalJson({ nodes: ["theirs"] }));
    vi.advanceTimersByTime(1000);
    expect(save).not.toHaveBeenCalled();
  });

  it("dispose saves at once what was waiting for its timer", () => {
    const { save } = server();
    const saver = new DraftSaver<Doc>({ initial: { nodes: [] }, save, delayMs: 10_000 });
    saver.dispose();
    expect(save).not.toHaveBeenCalled();
    saver.change({ nodes: ["a"] });
    saver.dispose();
    expect(save).toHaveBeenCalledWith({ nodes: ["a"] });
  });
});

describe("canonical JSON", () => {
  it("is the same for the same document whatever the order of its keys, arrays kept in order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe(canonicalJson({ a: { c: null, d: [2, 1] }, b: 1 }));
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });
});
