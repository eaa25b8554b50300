/**
 * The window runs under `script-src 'self'; style-src 'self'`: no inline script,
 * no inline style attribute in HTML, no eval, no remote resources.
 */
import { describe, expect, it } from "vitest";
import html from "../index.html?raw";

const sources = import.meta.glob<string>("../src/**/*.{ts,tsx}", { query: "?raw", import: "default", eager: true });

describe("content security policy", () => {
  it("index.html loads only its own module script, nothing inline or remote", () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]?.[1]).toContain('src="/src/main.tsx"');
    expect(scripts[0]?.[2]?.trim()).toBe("");
    expect(html).not.toMatch(/<style\b|\sstyle=|https?:\/\//);
  });

  it("the sources set no inline styles and evaluate no strings", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(10);
    for (const [file, text] of Object.entries(sources)) {
      expect(text, file).not.toMatch(/\bstyle=\{|dangerouslySetInnerHTML|\beval\(|new Function\(|innerHTML\s*=/);
      expect(text, file).not.toMatch(/https?:\/\/(?!ipc\.localhost)/);
    }
  });

  it("only the Tauri backend imports @tauri-apps", () => {
    const importers = Object.entries(sources)
      .filter(([, text]) => /from "@tauri-apps\//.test(text))
      .map(([file]) => file);
    expect(importers).toEqual(["../src/backend/tauri.ts"]);
  });
});
