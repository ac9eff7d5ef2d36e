/**
 * `--only a,b` of the history captures: the names to run (all when the option is absent). An unknown
 * name is an error listing the known ones, not a silent skip.
 */
export function onlyNames(known: string[], argv: string[] = process.argv): string[] | undefined {
  const at = argv.indexOf('--only');
  if (at < 0) return undefined;
  const names = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new Error(
      `--only ${unknown.join(',') || '(nothing)'}: unknown capture; known: ${known.join(', ')}`,
    );
  return names;
}
