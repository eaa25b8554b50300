import { useEffect, useState } from "preact/hooks";
import type { WeekSnapshot, WeekStore } from "../week-store";

/** Re-renders whenever the store changes; returns its snapshot. */
export function useStore(store: WeekStore): WeekSnapshot {
  const snapshot = store.snapshot;
  const [, setShown] = useState(snapshot);
  useEffect(() => {
    const update = () => setShown(store.snapshot);
    const stop = store.subscribe(update);
    // Anything that changed between this render and the subscription.
    update();
    return stop;
  }, [store]);
  return snapshot;
}
