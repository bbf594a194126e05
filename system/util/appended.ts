/**
 * `list` plus `item`, in a new array of exactly that size. For listener lists that live as long as a connection:
 * an array grown by push or spread keeps room for about seventeen entries, paid for by every open stream.
 */
export function appended<T>(list: ReadonlyArray<T>, item: T): ReadonlyArray<T> {
  return list.length === 0 ? [item] : list.concat([item]);
}
