export async function describeHost(): Promise<{ pid: number }> {
  return { pid: process.pid };
}
