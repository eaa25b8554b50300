/**
 * What a key press in a grid cell means, given where the cell is and where the
 * caret is in its text. Pure, so every rule is unit tested; the screen only
 * carries out the answer.
 *
 * - Arrow Up/Down move to the cell above/below.
 * - Arrow Left/Right move to the neighbouring cell when the caret is already at that
 *   edge of the text (or the whole text is selected, as it is after focusing a
 *   cell); otherwise they move the caret as usual.
 * - Enter commits the cell and moves down (Shift+Enter: up).
 * - Escape reverts the cell's edit.
 * - Tab and Shift+Tab are left to the browser: the natural order.
 */

export interface Position {
  row: number;
  col: number;
}

export interface GridSize {
  rows: number;
  cols: number;
}

export interface KeyPress {
  key: string;
  shiftKey?: boolean;
  altKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
}

/** The input's selection: `selectionStart`, `selectionEnd` and the text's length. */
export interface Caret {
  start: number | null;
  end: number | null;
  length: number;
}

export type CellCommand =
  /** Focus another cell (leaving this one commits it, as any blur does). */
  | { kind: "move"; to: Position }
  /** Commit this cell, then, if it was valid, focus `to` (null: stay). */
  | { kind: "commit"; to: Position | null }
  /** Throw away this cell's edit. */
  | { kind: "revert" };

function clamp(pos: Position, size: GridSize): Position | null {
  if (pos.row < 0 || pos.col < 0 || pos.row >= size.rows || pos.col >= size.cols) return null;
  return pos;
}

/** The command for `press`, or null when the browser should handle the key itself. */
export function cellKeyCommand(press: KeyPress, at: Position, size: GridSize, caret: Caret): CellCommand | null {
  if (press.altKey || press.ctrlKey || press.metaKey) return null;
  const { start, end, length } = caret;
  const allSelected = start === 0 && end === length;
  const atStart = allSelected || (start === 0 && end === 0);
  const atEnd = allSelected || (start === length && end === length);

  const move = (row: number, col: number): CellCommand | null => {
    const to = clamp({ row, col }, size);
    return to ? { kind: "move", to } : null;
  };

  switch (press.key) {
    case "ArrowUp":
      return press.shiftKey ? null : move(at.row - 1, at.col);
    case "ArrowDown":
      return press.shiftKey ? null : move(at.row + 1, at.col);
    case "ArrowLeft":
      return press.shiftKey || !atStart ? null : move(at.row, at.col - 1);
    case "ArrowRight":
      return press.shiftKey || !atEnd ? null : move(at.row, at.col + 1);
    case "Enter":
      return { kind: "commit", to: clamp({ row: at.row + (press.shiftKey ? -1 : 1), col: at.col }, size) };
    case "Escape":
      return { kind: "revert" };
    default:
      return null;
  }
}
