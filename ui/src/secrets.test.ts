import { describe, expect, it } from "vitest";
import { lacksScheme, secretNameProblem, secretValueProblem } from "./secrets";

describe("secret names", () => {
  it("accepts what a webhook's auth_secret may name", () => {
    expect(secretNameProblem("crm.token")).toBeNull();
    expect(secretNameProblem("CRM_token-2")).toBeNull();
    expect(secretNameProblem("x".repeat(100))).toBeNull();
  });

  it("refuses blanks, spaces, other characters and long names", () => {
    expect(secretNameProblem("")).toMatch(/name/);
    expect(secretNameProblem("crm token")).toMatch(/no spaces/);
    expect(secretNameProblem("crm/token")).toMatch(/Letters/);
    expect(secretNameProblem("x".repeat(101))).toMatch(/100/);
  });
});

describe("secret values", () => {
  it("accepts a header value of up to 4096 characters", () => {
    expect(secretValueProblem("Bearer abc.def")).toBeNull();
    expect(secretValueProblem("x".repeat(4096))).toBeNull();
  });

  it("refuses empty, long, multi-line and non-ASCII values", () => {
    expect(secretValueProblem("")).toMatch(/Enter/);
    expect(secretValueProblem("x".repeat(4097))).toMatch(/4096/);
    expect(secretValueProblem("Bearer a\nX-Other: 1")).toMatch(/one line/);
    expect(secretValueProblem("Bearer é")).toMatch(/ASCII/);
  });

  it("notices a value without an authorization scheme", () => {
    expect(lacksScheme("Bearer abc")).toBe(false);
    expect(lacksScheme("Basic dXNlcjpwYXNz")).toBe(false);
    expect(lacksScheme("abc123")).toBe(true);
    expect(lacksScheme("")).toBe(false);
  });
});
