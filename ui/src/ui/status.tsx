import type { Status } from "../backend/backend";

const WORDS: Record<Status | "mixed", { word: string; title: string }> = {
  draft: { word: "Draft", title: "Draft: not sent yet; submit the week when it is complete" },
  submitted: { word: "Submitted", title: "Submitted: waiting for a manager's decision" },
  approved: { word: "Approved", title: "Approved: it can no longer be changed" },
  rejected: { word: "Rejected", title: "Rejected: fix it and submit the week again" },
  mixed: { word: "Mixed", title: "Several entries with different statuses" },
};

/**
 * A status as an icon and a word (the word only for screen readers when
 * `compact`), never colour alone.
 *
 * The icon is drawn by the stylesheet (`.badge-<status>::before`), not inline
 * SVG: a week grid shows hundreds of badges, and each inline icon was three
 * more elements to create. It is decorative, as the word says the same.
 */
export function StatusBadge({
  status,
  testId,
  compact = false,
}: {
  status: Status | "mixed";
  testId?: string;
  compact?: boolean;
}) {
  const { word, title } = WORDS[status];
  return (
    <span
      class={`badge glyph badge-${status}${compact ? " badge-compact" : ""}`}
      title={title}
      data-testid={testId}
      data-status={status}
    >
      {compact ? <span class="sr-only">{word}</span> : word}
    </span>
  );
}
