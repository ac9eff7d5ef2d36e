/**
 * An API client acting as two tenants through the whole soak: each round one tenant uploads a small file
 * (POST /v1/files) holding its own secret word, then both search, list and fetch. A cross-tenant read is
 * any answer to tenant A that shows tenant B's data: a search hit for B's secret word or naming B's
 * bucket, a file of B's in A's list, or a 200 for B's file id. Errors while servers are away (5xx,
 * refused connections) are counted, not failures: the walls must hold whenever the API answers.
 */
import { errorText } from '../../../src/domain/errors.js';

export interface ApiTenant {
  tenant: string;
  key: string;
  /** A word only this tenant's API uploads hold. */
  secret: string;
}

export interface ApiUpload {
  tenant: string;
  key: string;
  /** The answer's file id (201 only). */
  fileId?: string;
  /** HTTP status of the answer, 0 when there was none. */
  status: number;
  at: number;
}

export interface ApiFigures {
  requests: number;
  ok: number;
  /** Answers other than 2xx/404 by status ("refused" when there was no answer). */
  errors: Record<string, number>;
  crossTenantReads: string[];
  uploads: ApiUpload[];
  searches: number;
  searchHitsOwn: number;
}

export class ApiClient {
  readonly figures: ApiFigures = {
    requests: 0,
    ok: 0,
    errors: {},
    crossTenantReads: [],
    uploads: [],
    searches: 0,
    searchHitsOwn: 0,
  };
  private running = true;

  constructor(
    private readonly base: string,
    private readonly tenants: [ApiTenant, ApiTenant],
    private readonly startedAt: number,
  ) {}

  private async call(
    who: ApiTenant,
    method: string,
    path: string,
    body?: Buffer,
  ): Promise<{ status: number; json?: unknown }> {
    this.figures.requests++;
    try {
      const response = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${who.key}`, ...(body ? { 'content-type': 'text/plain' } : {}) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      const ok = response.status < 300 || response.status === 404;
      if (ok) this.figures.ok++;
      else
        this.figures.errors[String(response.status)] =
          (this.figures.errors[String(response.status)] ?? 0) + 1;
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, json };
    } catch (error) {
      const reason = /abort|timeout/i.test(errorText(error)) ? 'timeout' : 'refused';
      this.figures.errors[reason] = (this.figures.errors[reason] ?? 0) + 1;
      return { status: 0 };
    }
  }

  private crossRead(what: string): void {
    this.figures.crossTenantReads.push(what);
  }

  private async round(n: number, upload = true): Promise<void> {
    const [a, b] = n % 2 === 0 ? this.tenants : [this.tenants[1], this.tenants[0]];
    if (upload) {
      const name = `api-${String(n).padStart(5, '0')}.txt`;
      const body = Buffer.from(`Uploaded through the API, round ${n}. ${a.secret} apiround${n}\n`);
      const put = await this.call(a, 'POST', `/v1/files/${a.tenant}?name=${name}`, body);
      const fileId = (put.json as { fileId?: string } | undefined)?.fileId;
      // Every attempt is accounted for: an error answer may still have stored the file.
      this.figures.uploads.push({
        tenant: a.tenant,
        key: `uploads/${name}`,
        ...(put.status === 201 && fileId ? { fileId } : {}),
        status: put.status,
        at: Date.now() - this.startedAt,
      });
    }

    // B searches for A's secret word: must find nothing, whatever A has stored.
    const foreign = await this.call(b, 'GET', `/v1/search?q=${a.secret}&limit=50`);
    this.figures.searches++;
    // A ranked (semantic) search may answer with B's own nearest chunks: a leak is a hit that holds A's
    // word or names A's bucket, not any hit at all.
    const foreignHits = ((foreign.json as { hits?: unknown[] } | undefined)?.hits ?? []).filter((hit) => {
      const text = JSON.stringify(hit);
      return text.includes(a.secret) || text.includes(`/${a.tenant}/`);
    });
    if (foreign.status === 200 && foreignHits.length > 0)
      this.crossRead(`${b.tenant} searching ${a.secret} got ${foreignHits.length} hit(s) of ${a.tenant}'s`);

    // A searches its own word: every hit must be A's own.
    const own = await this.call(a, 'GET', `/v1/search?q=${a.secret}&limit=50`);
    this.figures.searches++;
    for (const hit of (own.json as { hits?: unknown[] } | undefined)?.hits ?? []) {
      this.figures.searchHitsOwn++;
      if (JSON.stringify(hit).includes(b.tenant))
        this.crossRead(`${a.tenant}'s search hit names ${b.tenant}`);
    }

    // B lists its files: none may be A's; B asks for A's new file by id: must be 404.
    const list = await this.call(b, 'GET', '/v1/files?limit=100');
    for (const file of (list.json as { files?: Array<{ path?: string }> } | undefined)?.files ?? [])
      if (file.path?.startsWith(`/buckets/${a.tenant}/`))
        this.crossRead(`${b.tenant}'s list holds ${file.path}`);
    const known = this.figures.uploads.filter((u) => u.tenant === a.tenant && u.fileId);
    const target = known[Math.floor(Math.random() * known.length)];
    if (target?.fileId) {
      const got = await this.call(b, 'GET', `/v1/files/${target.fileId}`);
      if (got.status === 200) this.crossRead(`${b.tenant} read ${a.tenant}'s file ${target.fileId}`);
      const download = await this.call(b, 'GET', `/v1/files/${target.fileId}/download?redirect=false`);
      if (download.status === 200) this.crossRead(`${b.tenant} got a download link for ${target.fileId}`);
    }
  }

  /** Rounds every `everyMs` until stop(). */
  async run(everyMs: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const started = Date.now();
      await this.round(n);
      const rest = everyMs - (Date.now() - started);
      if (rest > 0 && this.running) await new Promise((r) => setTimeout(r, rest));
    }
  }

  /** One last round after the drain, when every upload is searchable: the walls checked on full data. */
  async finalCheck(): Promise<void> {
    await this.round(0, false);
    await this.round(1, false);
  }

  stop(): void {
    this.running = false;
  }
}
