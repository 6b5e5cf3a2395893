/**
 * Split rules, applied by `loadDataset` after the layout has indexed the data:
 *
 * - Group key: `sample.group` (manifest `group` column, or the first capture group of `--group-regex`
 *   matched against the path); a sample without a group is its own group. Whole groups move together, so
 *   no group is ever on both sides of a split made here.
 * - Test split (only for samples the data set leaves unassigned): every group containing an anomalous
 *   sample goes to test; then whole normal-only groups, in seeded random order, until the test normals
 *   reach `testFraction` (default 0.3) of all normals. The remaining normals are train. Anomalies never
 *   go to train.
 * - Validation split (only when the layout has none of its own): whole groups of train normals, in seeded
 *   random order, until `validationFraction` (default 0.1) of the train normals are taken.
 * "Until" means whole groups are added while the count is below round(fraction x total), so a large
 * group can overshoot. Group order before shuffling is first appearance, so equal seeds give equal splits.
 */
import type { Random } from "../util/random.js";
import type { Sample } from "./types.js";

export function groupKey(sample: Sample): string {
  return sample.group ?? `path:${sample.path}#${sample.slice ?? 0}`;
}

/** Sets `group` from the first capture group (or the whole match) of `pattern` on each path; no match = none. */
export function applyGroupRegex(samples: Sample[], pattern: RegExp): void {
  for (const sample of samples) {
    const match = pattern.exec(sample.path);
    if (match) sample.group = match[1] ?? match[0];
  }
}

/** Samples grouped by key, groups in order of first appearance. */
export function groupSamples(samples: readonly Sample[]): Sample[][] {
  const groups = new Map<string, Sample[]>();
  for (const sample of samples) {
    const key = groupKey(sample);
    const group = groups.get(key);
    if (group) group.push(sample);
    else groups.set(key, [sample]);
  }
  return [...groups.values()];
}

/** Take whole groups in seeded random order while fewer than `target` samples are taken. */
function takeGroups(groups: Sample[][], target: number, random: Random): { taken: Sample[]; rest: Sample[] } {
  const taken: Sample[] = [];
  const rest: Sample[] = [];
  for (const group of random.shuffle([...groups])) (taken.length < target ? taken : rest).push(...group);
  return { taken: restoreOrder(taken, groups), rest: restoreOrder(rest, groups) };
}

/** The samples of `subset` in the original order of `groups`. */
function restoreOrder(subset: Sample[], groups: Sample[][]): Sample[] {
  const chosen = new Set(subset);
  return groups.flat().filter((s) => chosen.has(s));
}

/** Carve a validation set of whole groups from train normals. */
export function carveValidation(
  train: readonly Sample[],
  fraction: number,
  random: Random,
): { train: Sample[]; validation: Sample[] } {
  const { taken, rest } = takeGroups(groupSamples(train), Math.round(fraction * train.length), random);
  return { train: rest, validation: taken };
}

/** Split unassigned samples into train (normals only) and test (all anomalies and a share of normals). */
export function splitUnassigned(
  samples: readonly Sample[],
  testFraction: number,
  random: Random,
): { train: Sample[]; test: Sample[] } {
  const groups = groupSamples(samples);
  const withAnomaly = groups.filter((g) => g.some((s) => s.label === 1));
  const normalOnly = groups.filter((g) => g.every((s) => s.label === 0));
  const normals = samples.filter((s) => s.label === 0).length;
  const normalsInTest = withAnomaly.flat().filter((s) => s.label === 0).length;
  const target = Math.max(0, Math.round(testFraction * normals) - normalsInTest);
  const { taken, rest } = takeGroups(normalOnly, target, random);
  const test = new Set([...withAnomaly.flat(), ...taken]);
  return { train: rest, test: samples.filter((s) => test.has(s)) };
}

/** Group keys present in more than one of the given splits. */
export function groupsAcrossSplits(splits: Record<string, readonly Sample[]>): string[] {
  const seen = new Map<string, string>();
  const shared = new Set<string>();
  for (const [name, samples] of Object.entries(splits)) {
    for (const sample of samples) {
      if (sample.group === undefined) continue;
      const first = seen.get(sample.group);
      if (first === undefined) seen.set(sample.group, name);
      else if (first !== name) shared.add(sample.group);
    }
  }
  return [...shared].sort();
}
