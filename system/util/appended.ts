/**
 * `list` plus `item`, in a new array of exactly that size. For listener lists that live as long as a connection:
 * an array grown by push or spread keeps room for about seventeen entries, paid for by every open stream. Array
 * literals are exact and the fastest to make (concat is several times slower); longer lists are rare.
 */
export function appended<T>(list: ReadonlyArray<T>, item: T): ReadonlyArray<T> {
  switch (list.length) {
    case 0:
      return [item];
    case 1:
      return [list[0]!, item];
    case 2:
      return [list[0]!, list[1]!, item];
    default:
      return list.concat([item]);
  }
}
