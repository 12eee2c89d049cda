// Every `--json` answer is one object whose `schemaVersion` says its shape: fields are only ever added;
// the version changes if one must be renamed or removed (README, "JSON output").
export const CLI_JSON_SCHEMA_VERSION = 1;

export function cliJson(payload: object): string {
  return JSON.stringify({ schemaVersion: CLI_JSON_SCHEMA_VERSION, ...payload }, null, 2);
}
