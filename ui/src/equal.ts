/** Equality checks for reusing unchanged data (grid cells) and skipping unchanged renders. */

/**
 * Whether `a` and `b` have the same own keys holding the same values (by
 * `Object.is`), one level deep: enough for flat records such as an entry, or
 * the props of a component.
 */
export function shallowEqual(a: object, b: object): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && Object.is(x[key], y[key]));
}
