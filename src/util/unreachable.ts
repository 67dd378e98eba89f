/** For exhaustive switches over discriminated unions: a compile error when a case is missing. */
export function unreachable(value: never, what = 'value'): never {
  throw new Error(`internal error: unexpected ${what}: ${JSON.stringify(value)}`);
}
