import { describe, expect, it } from "vitest";
import { filenameFromDisposition } from "./download";
import { parseBody, uploadError, uploadProgress } from "./upload";

describe("Content-Disposition file names", () => {
  it("reads quoted, bare and RFC 5987 names", () => {
    expect(filenameFromDisposition('attachment; filename="leads-2026-01-02.csv"', "x")).toBe("leads-2026-01-02.csv");
    expect(filenameFromDisposition("attachment; filename=leads.xlsx", "x")).toBe("leads.xlsx");
    expect(filenameFromDisposition("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.json", "x")).toBe("résumé.json");
    expect(filenameFromDisposition("attachment; filename*=iso-8859-1'en'caf%E9.csv", "x")).toBe("café.csv");
  });

  it("prefers filename* over filename, whatever the order", () => {
    expect(filenameFromDisposition("attachment; filename*=UTF-8''na%C3%AFve.csv; filename=\"naive.csv\"", "x")).toBe("naïve.csv");
    expect(filenameFromDisposition("attachment; filename=\"naive.csv\"; filename*=UTF-8''na%C3%AFve.csv", "x")).toBe("naïve.csv");
  });

  it("unescapes quotes and keeps only the last path segment", () => {
    expect(filenameFromDisposition('attachment; filename="say \\"hi\\".csv"', "x")).toBe('say "hi".csv');
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"', "x")).toBe("passwd");
    expect(filenameFromDisposition('attachment; filename="C:\\\\temp\\\\a.csv"', "x")).toBe("a.csv");
  });

  it("falls back when there is no usable name", () => {
    expect(filenameFromDisposition(null, "leads.csv")).toBe("leads.csv");
    expect(filenameFromDisposition("attachment", "leads.csv")).toBe("leads.csv");
    expect(filenameFromDisposition('attachment; filename=""', "leads.csv")).toBe("leads.csv");
    expect(filenameFromDisposition("attachment; filename*=UTF-8''%E0%A4%A", "leads.csv")).toBe("leads.csv");
  });
});

describe("uploads", () => {
  it("parses JSON answers and keeps anything else as text", () => {
    expect(parseBody('{"message":"file: too big","field":"file","code":"too_large"}')).toEqual({
      message: "file: too big",
      field: "file",
      code: "too_large",
    });
    expect(parseBody("<html>Request Entity Too Large</html>")).toBe("<html>Request Entity Too Large</html>");
    expect(parseBody("")).toBeUndefined();
  });

  it("uses the API's message and field, with a fallback for a proxy's 413", () => {
    const api = uploadError(422, { message: "file: the file is empty", field: "file", code: "validation_error" });
    expect(api.message).toBe("file: the file is empty");
    expect(api.field).toBe("file");
    expect(api.status).toBe(422);
    const proxy = uploadError(413, "<html>" + "x".repeat(400) + "</html>");
    expect(proxy.message).toBe("The file is larger than the server accepts.");
    expect(proxy.code).toBe("too_large");
    expect(uploadError(413, { message: "file: larger than the limit of 10 bytes", field: "file", code: "too_large" }).message).toBe(
      "file: larger than the limit of 10 bytes",
    );
  });

  it("computes progress when the total is known", () => {
    expect(uploadProgress(50, 200)).toEqual({ loaded: 50, total: 200, percent: 25 });
    expect(uploadProgress(50, null)).toEqual({ loaded: 50, total: null, percent: null });
    expect(uploadProgress(10, 0).percent).toBeNull();
  });
});
