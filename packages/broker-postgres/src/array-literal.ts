/**
 * Array parameters as PostgreSQL array literals, made here rather than by pg: pg builds the
 * literal element by element, with two regular-expression replaces per string and a copy of
 * the text so far for each, which for a batch of finishes was 1.3 KB of garbage per task (heap
 * profile of the PostgreSQL drain). The server parses the literal as the parameter's array type.
 */

/** `{1,2,NULL}`: integers (safe integers print without an exponent) or nulls. */
export function intArrayLiteral(values: readonly (number | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`
}

const SPECIAL = /["\\]/g

/** `{"a","b\"c",NULL}`: texts quoted (a quote or backslash escaped by a backslash), or nulls. */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(SPECIAL, '\\$&')}"`)).join(',')}}`
}
