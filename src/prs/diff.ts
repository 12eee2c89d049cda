// A small unified-diff printer for dry runs and PR previews. Editors change a few lines, so common
// prefix and suffix are trimmed first and the LCS only runs over the changed middle.

function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length && lines[lines.length - 1] === '' ? lines.slice(0, -1) : lines;
}

type Op = { kind: ' ' | '-' | '+'; line: string };

function lcsOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > 4_000_000) return [...a.map((line) => ({ kind: '-' as const, line })), ...b.map((line) => ({ kind: '+' as const, line }))];
  const dp = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i * (m + 1) + j] =
        a[i] === b[j] ? dp[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(dp[(i + 1) * (m + 1) + j], dp[i * (m + 1) + j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++] });
      j++;
    } else if (i < n && (j === m || dp[(i + 1) * (m + 1) + j] >= dp[i * (m + 1) + j + 1])) ops.push({ kind: '-', line: a[i++] });
    else ops.push({ kind: '+', line: b[j++] });
  }
  return ops;
}

function show(line: string): string {
  return line.replace(/\r?\n$/, '') + (line.endsWith('\n') ? '' : '\n\\ No newline at end of file');
}

export function unifiedDiff(path: string, before: string, after: string, context = 3): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const ops: Op[] = [
    ...a.slice(0, pre).map((line) => ({ kind: ' ' as const, line })),
    ...lcsOps(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf)),
    ...a.slice(a.length - suf).map((line) => ({ kind: ' ' as const, line })),
  ];
  const out = [`--- a/${path}`, `+++ b/${path}`];
  let k = 0;
  let oldLine = 1;
  let newLine = 1;
  while (k < ops.length) {
    if (ops[k].kind === ' ') {
      k++;
      oldLine++;
      newLine++;
      continue;
    }
    // A hunk: back up `context` lines, then run until `2*context` unchanged lines in a row.
    const start = Math.max(0, k - context);
    let end = k;
    let quiet = 0;
    while (end < ops.length && quiet <= 2 * context) {
      quiet = ops[end].kind === ' ' ? quiet + 1 : 0;
      end++;
    }
    end = Math.min(ops.length, end - Math.max(0, quiet - context));
    const back = k - start;
    const oStart = oldLine - back;
    const nStart = newLine - back;
    const hunk = ops.slice(start, end);
    const oCount = hunk.filter((o) => o.kind !== '+').length;
    const nCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${oCount ? oStart : oStart - 1},${oCount} +${nCount ? nStart : nStart - 1},${nCount} @@`);
    for (const o of hunk) out.push(o.kind + show(o.line));
    for (const o of ops.slice(k, end)) {
      if (o.kind !== '+') oldLine++;
      if (o.kind !== '-') newLine++;
    }
    k = end;
  }
  return out.join('\n') + '\n';
}
