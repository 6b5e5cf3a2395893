/** Layout-independent counts of a loaded data set, for the model directory and the CLI. */
import type { Dataset, LayoutName, Sample } from "./types.js";

export interface SplitSummary {
  total: number;
  normal: number;
  anomalous: number;
  /** Anomalous samples with at least one mask file. */
  withMasks: number;
  /** Counts per defect type / class folder (`unlabelled` when the layout gives none). */
  defectTypes: Record<string, number>;
  /** Distinct group keys (0 when no sample has a group). */
  groups: number;
}

export interface DatasetSummary {
  layout: LayoutName;
  train: SplitSummary;
  validation: SplitSummary;
  test: SplitSummary;
  excluded: number;
  duplicateGroups: number;
  /** Files beyond the kept copy in each duplicate group (dropped unless all inside the own test split). */
  redundantCopies: number;
}

export function summarizeSplit(samples: readonly Sample[]): SplitSummary {
  const defectTypes: Record<string, number> = {};
  for (const s of samples) {
    const type = s.defectType ?? "unlabelled";
    defectTypes[type] = (defectTypes[type] ?? 0) + 1;
  }
  const anomalous = samples.filter((s) => s.label === 1);
  return {
    total: samples.length,
    normal: samples.length - anomalous.length,
    anomalous: anomalous.length,
    withMasks: anomalous.filter((s) => s.maskPaths.length > 0).length,
    defectTypes,
    groups: new Set(samples.flatMap((s) => (s.group === undefined ? [] : [s.group]))).size,
  };
}

export function summarize(dataset: Dataset): DatasetSummary {
  return {
    layout: dataset.layout,
    train: summarizeSplit(dataset.train),
    validation: summarizeSplit(dataset.validation),
    test: summarizeSplit(dataset.test),
    excluded: dataset.excluded.length,
    duplicateGroups: dataset.duplicates.length,
    redundantCopies: dataset.duplicates.reduce((n, g) => n + g.length - 1, 0),
  };
}
