/**
 * A validator for the JSON Schema subset that OpenAI's strict structured output accepts (objects with
 * `properties`, `required`, `additionalProperties: false`; arrays with `items`; string, number,
 * integer, boolean, null and unions of them; `enum`; `minItems`/`maxItems`; `pattern`). The schema we
 * send to the model is the schema we check its answer against, so the two cannot drift apart, and an
 * error names the exact field (`goals[2].title: expected string, got number`).
 */
export type Schema = Record<string, unknown>;

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path || '(root)'}: ${problem}`);
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(type: string, value: unknown): boolean {
  const kind = kindOf(value);
  return type === kind || (type === 'number' && kind === 'integer');
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

/** Throws a ShapeError naming the first field that does not satisfy `schema`; returns `value` as is. */
export function checkShape(schema: Schema, value: unknown, path = ''): unknown {
  const types =
    schema.type === undefined
      ? []
      : Array.isArray(schema.type)
        ? (schema.type as string[])
        : [schema.type as string];
  if (types.length > 0 && !types.some((t) => typeMatches(t, value))) {
    throw new ShapeError(path, `expected ${types.join(' or ')}, got ${kindOf(value)}`);
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    throw new ShapeError(
      path,
      `expected one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  if (
    typeof value === 'string' &&
    typeof schema.pattern === 'string' &&
    !new RegExp(schema.pattern).test(value)
  ) {
    throw new ShapeError(path, `${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      throw new ShapeError(path, `expected at least ${schema.minItems} item(s), got ${value.length}`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      throw new ShapeError(path, `expected at most ${schema.maxItems} item(s), got ${value.length}`);
    const items = schema.items as Schema | undefined;
    if (items) {
      for (const [i, item] of value.entries()) checkShape(items, item, join(path, i));
    }
  } else if (kindOf(value) === 'object') {
    const record = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) {
      if (!(key in record)) throw new ShapeError(join(path, key), 'required field is missing');
    }
    for (const [key, item] of Object.entries(record)) {
      const property = properties[key];
      if (property) checkShape(property, item, join(path, key));
      else if (schema.additionalProperties === false) throw new ShapeError(join(path, key), 'unknown field');
    }
  }
  return value;
}
