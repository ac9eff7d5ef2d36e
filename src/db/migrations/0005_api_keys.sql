-- Per-tenant API keys of the HTTP API (`p8fs api`, `p8fs apikey create --tenant T`).
--   key_hash:   sha256 (hex) of the whole key. Keys are 256 random bits, so a fast hash is enough to
--               make a leaked table useless (nothing to brute-force), and it is what the lookup uses.
--   key_prefix: the key's public first part (`p8fs_<8 chars>`), shown by `apikey list` so a person can
--               tell keys apart; never enough to authenticate.
--   revoked_at: set by `apikey revoke`; a revoked key is refused at once (401).
CREATE TABLE api_keys (
  id           uuid PRIMARY KEY,
  tenant_id    text NOT NULL,
  name         text NOT NULL DEFAULT '',
  key_prefix   text NOT NULL,
  key_hash     text NOT NULL UNIQUE,
  last_used_at timestamptz,
  revoked_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at DESC);
CREATE TRIGGER api_keys_touch BEFORE UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION p8fs_touch_updated_at();
