/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The page is loaded by Tauri from its own files under a strict CSP
// (script-src 'self'; style-src 'self'), so the build must produce plain
// files with relative URLs and nothing inline.
export default defineConfig({
  base: "./",
  clearScreen: false,
  esbuild: {
    jsx: "automatic",
    jsxImportSource: "preact",
  },
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Never turn assets into inline data: or <style> blocks.
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    environment: "node",
    include: ["test/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
