import { describe, expect, it } from "vitest";
import { cellKeyCommand, type Caret } from "../src/keyboard";

const size = { rows: 3, cols: 7 };
const all: Caret = { start: 0, end: 3, length: 3 }; // after focus the text is selected
const middle: Caret = { start: 1, end: 1, length: 3 };
const atEnd: Caret = { start: 3, end: 3, length: 3 };
const atStart: Caret = { start: 0, end: 0, length: 3 };
const empty: Caret = { start: 0, end: 0, length: 0 };

describe("cell keys", () => {
  it("moves up and down between rows, staying inside the grid", () => {
    expect(cellKeyCommand({ key: "ArrowDown" }, { row: 0, col: 2 }, size, middle)).toEqual({
      kind: "move",
      to: { row: 1, col: 2 },
    });
    expect(cellKeyCommand({ key: "ArrowUp" }, { row: 1, col: 2 }, size, middle)).toEqual({
      kind: "move",
      to: { row: 0, col: 2 },
    });
    expect(cellKeyCommand({ key: "ArrowUp" }, { row: 0, col: 2 }, size, middle)).toBeNull();
    expect(cellKeyCommand({ key: "ArrowDown" }, { row: 2, col: 2 }, size, middle)).toBeNull();
  });

  it("moves left and right only when the caret is at that edge or all is selected", () => {
    expect(cellKeyCommand({ key: "ArrowRight" }, { row: 0, col: 2 }, size, all)).toEqual({
      kind: "move",
      to: { row: 0, col: 3 },
    });
    expect(cellKeyCommand({ key: "ArrowLeft" }, { row: 0, col: 2 }, size, all)).toEqual({
      kind: "move",
      to: { row: 0, col: 1 },
    });
    expect(cellKeyCommand({ key: "ArrowRight" }, { row: 0, col: 2 }, size, middle)).toBeNull();
    expect(cellKeyCommand({ key: "ArrowLeft" }, { row: 0, col: 2 }, size, middle)).toBeNull();
    expect(cellKeyCommand({ key: "ArrowRight" }, { row: 0, col: 2 }, size, atEnd)).toEqual({
      kind: "move",
      to: { row: 0, col: 3 },
    });
    expect(cellKeyCommand({ key: "ArrowLeft" }, { row: 0, col: 2 }, size, atEnd)).toBeNull();
    expect(cellKeyCommand({ key: "ArrowLeft" }, { row: 0, col: 2 }, size, atStart)).toEqual({
      kind: "move",
      to: { row: 0, col: 1 },
    });
    expect(cellKeyCommand({ key: "ArrowRight" }, { row: 1, col: 4 }, size, empty)).toEqual({
      kind: "move",
      to: { row: 1, col: 5 },
    });
    expect(cellKeyCommand({ key: "ArrowLeft" }, { row: 1, col: 0 }, size, empty)).toBeNull();
    expect(cellKeyCommand({ key: "ArrowRight" }, { row: 1, col: 6 }, size, empty)).toBeNull();
  });

  it("leaves modified arrows (selection, word jumps) to the browser", () => {
    expect(cellKeyCommand({ key: "ArrowRight", shiftKey: true }, { row: 0, col: 0 }, size, all)).toBeNull();
    expect(cellKeyCommand({ key: "ArrowLeft", ctrlKey: true }, { row: 0, col: 3 }, size, all)).toBeNull();
    expect(cellKeyCommand({ key: "ArrowDown", altKey: true }, { row: 0, col: 3 }, size, all)).toBeNull();
    expect(cellKeyCommand({ key: "ArrowUp", metaKey: true }, { row: 1, col: 3 }, size, all)).toBeNull();
  });

  it("commits with Enter and moves down (Shift+Enter up), staying on the last row", () => {
    expect(cellKeyCommand({ key: "Enter" }, { row: 0, col: 1 }, size, middle)).toEqual({
      kind: "commit",
      to: { row: 1, col: 1 },
    });
    expect(cellKeyCommand({ key: "Enter", shiftKey: true }, { row: 1, col: 1 }, size, middle)).toEqual({
      kind: "commit",
      to: { row: 0, col: 1 },
    });
    expect(cellKeyCommand({ key: "Enter" }, { row: 2, col: 1 }, size, middle)).toEqual({ kind: "commit", to: null });
  });

  it("reverts with Escape and leaves Tab and typing alone", () => {
    expect(cellKeyCommand({ key: "Escape" }, { row: 0, col: 0 }, size, middle)).toEqual({ kind: "revert" });
    expect(cellKeyCommand({ key: "Tab" }, { row: 0, col: 0 }, size, middle)).toBeNull();
    expect(cellKeyCommand({ key: "Tab", shiftKey: true }, { row: 0, col: 1 }, size, middle)).toBeNull();
    expect(cellKeyCommand({ key: "7" }, { row: 0, col: 0 }, size, middle)).toBeNull();
  });
});
