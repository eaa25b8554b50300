/**
 * Small inline icons; decorative (aria-hidden), always next to words or labels.
 * The ones the week grid repeats in every cell (a status, the delete cross) are
 * drawn by the stylesheet instead (`.glyph` in styles.css), with the same shapes.
 */
import type { JSX } from "preact";

type IconProps = { class?: string };

function Svg({ children, class: cls }: { children: JSX.Element | JSX.Element[] } & IconProps) {
  return (
    <svg class={`icon ${cls ?? ""}`} viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
      {children}
    </svg>
  );
}

export const CheckIcon = (p: IconProps) => (
  <Svg {...p}>
    <path
      d="M3 8.5l3 3 7-7"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    />
  </Svg>
);

export const ClockIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="1.6" />
    <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" />
  </Svg>
);

export const CrossIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M4 4l8 8M12 4l-8 8" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
  </Svg>
);

export const LockIcon = (p: IconProps) => (
  <Svg {...p}>
    <rect x="3" y="7" width="10" height="7" rx="1.5" fill="currentColor" />
    <path d="M5.5 7V5a2.5 2.5 0 015 0v2" fill="none" stroke="currentColor" stroke-width="1.6" />
  </Svg>
);

export const WarningIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M8 1.8l6.5 11.7H1.5z" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
    <path d="M8 6.2v3.6M8 11.6v.2" stroke="currentColor" stroke-width="1.7" stroke-linecap="round" />
  </Svg>
);

export const RetryIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M13 8a5 5 0 11-1.5-3.6" fill="none" stroke="currentColor" stroke-width="1.7" stroke-linecap="round" />
    <path
      d="M12 1.8v3h-3"
      fill="none"
      stroke="currentColor"
      stroke-width="1.7"
      stroke-linecap="round"
      stroke-linejoin="round"
    />
  </Svg>
);

export const ChevronLeft = (p: IconProps) => (
  <Svg {...p}>
    <path
      d="M10 3L5 8l5 5"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    />
  </Svg>
);

export const ChevronRight = (p: IconProps) => (
  <Svg {...p}>
    <path
      d="M6 3l5 5-5 5"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    />
  </Svg>
);

export const OfflineIcon = (p: IconProps) => (
  <Svg {...p}>
    <path
      d="M1.5 6a9.5 9.5 0 0113 0M4 8.8a6 6 0 018 0M6.5 11.4a2.5 2.5 0 013 0"
      fill="none"
      stroke="currentColor"
      stroke-width="1.5"
      stroke-linecap="round"
    />
    <path d="M2 2l12 12" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" />
  </Svg>
);

/** A spinning ring; stands still when the person prefers reduced motion. */
export const Spinner = () => <span class="spinner" aria-hidden="true" />;

export const SendIcon = (p: IconProps) => (
  <Svg {...p}>
    <path d="M2.5 8L13.5 3 10 13.5 7.5 9z M7.5 9L13.5 3" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round" />
  </Svg>
);

export const UndoIcon = (p: IconProps) => (
  <Svg {...p}>
    <path
      d="M5.5 4L2.5 7l3 3M3 7h6.5a3.5 3.5 0 010 7H7"
      fill="none"
      stroke="currentColor"
      stroke-width="1.6"
      stroke-linecap="round"
      stroke-linejoin="round"
    />
  </Svg>
);
