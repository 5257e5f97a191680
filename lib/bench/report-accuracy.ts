// The accuracy section of the text and HTML reports: a classification set (accuracy, per-class precision and
// recall, agreement) or a detection set (mAP@0.5 and its change from PyTorch's, per-class AP, precision and recall).
import type { AccuracyReport, ClassificationAccuracyReport } from './accuracy.js';
import type { DetectionAccuracyReport, DetectionRun } from './accuracy-detect.js';
import { fmtPct, textTable } from './format.js';
import { esc } from './svg.js';

/** An HTML table (the report's): headers, rows of HTML cells, the first `left` columns left-aligned. */
export type HtmlTable = (headers: readonly string[], rows: readonly (readonly string[])[], left?: number) => string;

const isDetection = (a: AccuracyReport): a is DetectionAccuracyReport => a.kind === 'detection';

/** mAP change from PyTorch's (the figures test.json holds), in percentage points. */
function delta(a: DetectionAccuracyReport, r: DetectionRun): string {
  const base = a.runs.find((x) => x.backend === 'pytorch');
  if (!r.metrics || !base?.metrics || base === r) return '–';
  const d = (r.metrics.map50 - base.metrics.map50) * 100;
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)} pt`;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);

function detectionRows(a: DetectionAccuracyReport, cell: (s: string) => string): string[][] {
  return a.runs.map((r) => {
    const m = r.metrics;
    if (!m) return [cell(r.name), cell(r.skipped ?? '–'), '', '', ''];
    const withTruth = m.perClass.filter((c) => c.instances > 0);
    return [cell(r.name), fmtPct(m.map50), delta(a, r), fmtPct(mean(withTruth.map((c) => c.precision))), fmtPct(mean(withTruth.map((c) => c.recall)))];
  });
}

function detectionTitle(a: DetectionAccuracyReport): string {
  const d = a.dataset;
  return `${d.count} images ${d.width}x${d.height}, ${d.classes.length} classes; NMS score > ${d.nms.scoreThreshold}, IoU ${d.nms.iouThreshold}, max ${d.nms.maxDetections}; precision / recall at score ≥ ${d.scoreThreshold}`;
}

const perClassCell = (r: DetectionRun, c: number): string => {
  const m = r.metrics!.perClass[c];
  return m ? `${fmtPct(m.ap50, 1)} · ${fmtPct(m.precision, 1)} / ${fmtPct(m.recall, 1)}` : '–';
};

/**
 * The text report's accuracy block.
 * @example out.push(...accuracyText(report.accuracy));
 */
export function accuracyText(a: AccuracyReport): string[] {
  if (isDetection(a)) {
    const out = [`=== Accuracy (detection, held-out split: ${detectionTitle(a)}) ===`];
    out.push(textTable(['run', 'mAP@0.5', 'vs PyTorch', 'mean precision', 'mean recall'], detectionRows(a, (s) => s)));
    const ran = a.runs.filter((r) => r.metrics);
    if (ran.length) {
      out.push('', 'Per class, AP@0.5 · precision / recall:');
      const counts = ran[0].metrics!.perClass.map((c) => String(c.instances));
      out.push(textTable(['class', 'instances', ...ran.map((r) => r.name)], a.dataset.classes.map((name, c) => [name, counts[c] ?? '', ...ran.map((r) => perClassCell(r, c))])));
    }
    return out;
  }
  return classificationText(a);
}

/**
 * The HTML report's accuracy section ('' without one).
 * @example accuracyHtml(report.accuracy, table)
 */
export function accuracyHtml(a: AccuracyReport | undefined, table: HtmlTable): string {
  if (!a) return '';
  if (!isDetection(a)) return classificationHtml(a, table);
  const ran = a.runs.filter((r) => r.metrics);
  const summary = table(['run', 'mAP@0.5', 'vs PyTorch', 'mean precision', 'mean recall'], detectionRows(a, esc));
  const perClass = ran.length
    ? table(
        ['class', 'instances', ...ran.flatMap((r) => [`${r.name} AP@0.5`, `${r.name} precision`, `${r.name} recall`])],
        a.dataset.classes.map((name, c) => [
          esc(name),
          String(ran[0].metrics!.perClass[c]?.instances ?? ''),
          ...ran.flatMap((r) => {
            const m = r.metrics!.perClass[c];
            return m ? [fmtPct(m.ap50, 1), fmtPct(m.precision, 1), fmtPct(m.recall, 1)] : ['–', '–', '–'];
          }),
        ]),
      )
    : '';
  return `<section id="accuracy"><h2>Accuracy on real data: detection held-out split</h2><p class="muted">${esc(detectionTitle(a))}. Model: <code>${esc(a.dataset.model)}</code>.</p>${summary}<h3>Per class</h3>${perClass}</section>`;
}

function classificationText(a: ClassificationAccuracyReport): string[] {
  const out = [`=== Accuracy (digits test split: ${a.dataset.count} samples, ${a.dataset.classes} classes) ===`];
  const ran = a.runs.filter((r) => r.metrics);
  out.push(textTable(['run', 'accuracy', 'macro precision', 'macro recall', 'correct'], a.runs.map((r) => (r.metrics ? [r.name, fmtPct(r.metrics.accuracy), fmtPct(r.metrics.macroPrecision), fmtPct(r.metrics.macroRecall), `${r.metrics.correct}/${r.metrics.total}`] : [r.name, r.skipped ?? '–', '', '', '']))));
  if (ran.length) {
    out.push('', 'Per class, precision / recall:');
    const classes = ran[0].metrics!.perClass.map((c) => c.class);
    out.push(textTable(['class', 'support', ...ran.map((r) => r.name)], classes.map((c) => [String(c), String(ran[0].metrics!.perClass[c].support), ...ran.map((r) => `${fmtPct(r.metrics!.perClass[c].precision, 1)} / ${fmtPct(r.metrics!.perClass[c].recall, 1)}`)])));
  }
  for (const g of a.agreement) out.push(`${g.a} and ${g.b} predict the same class on ${fmtPct(g.fraction)} of samples`);
  return out;
}

function classificationHtml(a: ClassificationAccuracyReport, table: HtmlTable): string {
  const ran = a.runs.filter((r) => r.metrics);
  const summary = table(
    ['run', 'accuracy', 'macro precision', 'macro recall', 'correct'],
    a.runs.map((r) => (r.metrics ? [esc(r.name), fmtPct(r.metrics.accuracy), fmtPct(r.metrics.macroPrecision), fmtPct(r.metrics.macroRecall), `${r.metrics.correct}/${r.metrics.total}`] : [esc(r.name), esc(r.skipped ?? '–'), '', '', ''])),
  );
  const perClass = ran.length
    ? table(
        ['class', 'support', ...ran.flatMap((r) => [`${r.name} precision`, `${r.name} recall`])],
        ran[0].metrics!.perClass.map((c) => [String(c.class), String(c.support), ...ran.flatMap((r) => [fmtPct(r.metrics!.perClass[c.class].precision, 1), fmtPct(r.metrics!.perClass[c.class].recall, 1)])]),
      )
    : '';
  const agree = a.agreement.map((g) => `<li>${esc(g.a)} and ${esc(g.b)}: same class on ${fmtPct(g.fraction)} of samples</li>`).join('');
  return `<section id="accuracy"><h2>Accuracy on real data: digits test split (${a.dataset.count} samples, ${a.dataset.classes} classes)</h2>${summary}<h3>Per class</h3>${perClass}${agree ? `<h3>Agreement</h3><ul>${agree}</ul>` : ''}</section>`;
}
