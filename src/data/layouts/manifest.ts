/**
 * CSV manifest layout: a `.csv` file, or a folder holding `manifest.csv` (preferred) or `labels.csv`.
 * Header columns (any order, extra columns ignored): `path` (required), `label` (required),
 * `mask` (optional; several masks separated by `;`), `split` (optional), `group` (optional).
 * Paths are relative to the CSV file's folder. Labels: `normal`/`0` or `anomalous`/`1`, plus the class
 * names of `classLabel` (good, abnormal, pneumonia, ...). Splits: `train`, `test`, `valid`/`val`/
 * `validation`, `excluded`; an empty value or a missing column leaves the row to the split rules.
 * Examples: lgg_brain_mri/manifest.csv, brain_tumor_yesno/labels.csv, chest_xray_zhanglab/labels.csv.
 */
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InputFileError, UserError } from "../../errors.js";
import { classLabel, isDirectory, isFile } from "../files.js";
import { type DatasetIndex, emptyIndex, type Layout, type Sample } from "../types.js";

const MANIFEST_NAMES = ["manifest.csv", "labels.csv"];

/** The CSV file a root designates, if any. */
async function manifestFile(root: string): Promise<string | undefined> {
  if (root.toLowerCase().endsWith(".csv")) return (await isFile(root)) ? root : undefined;
  if (!(await isDirectory(root))) return undefined;
  for (const name of MANIFEST_NAMES) if (await isFile(join(root, name))) return join(root, name);
  return undefined;
}

/** A CSV record and the line it starts on (1-based). */
interface CsvRecord {
  cells: string[];
  line: number;
}

/**
 * RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks. Blank records are
 * dropped. A quote still open at the end of the text is an error naming the line it opened on.
 */
function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 1;
  const endRecord = () => {
    row.push(field);
    if (row.some((cell) => cell.trim() !== "")) records.push({ cells: row, line: recordLine });
    row = [];
    field = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n" || (ch === "\r" && text[i + 1] !== "\n")) line++;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') {
      quoted = true;
      quoteLine = line;
    } else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      recordLine = line;
    } else field += ch;
  }
  if (quoted)
    throw new UserError(`line ${quoteLine}: unterminated quote (a field opened with " is never closed)`);
  if (field !== "" || row.length > 0) endRecord();
  return records;
}

/** The records of an RFC 4180 CSV text as arrays of fields (blank records dropped). */
export function parseCsv(text: string): string[][] {
  return parseCsvRecords(text).map((r) => r.cells);
}

type SplitName = "train" | "validation" | "test" | "excluded" | "unassigned";

const SPLIT_VALUES: Record<string, SplitName> = {
  train: "train",
  val: "validation",
  valid: "validation",
  validation: "validation",
  test: "test",
  excluded: "excluded",
  "": "unassigned",
};

function parseLabel(value: string): 0 | 1 | undefined {
  const v = value.trim();
  if (v === "0") return 0;
  if (v === "1") return 1;
  return classLabel(v);
}

export async function indexManifest(file: string): Promise<DatasetIndex> {
  let records: CsvRecord[];
  try {
    records = parseCsvRecords(await readFile(file, "utf8"));
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`${file} ${error.message}`);
    throw error;
  }
  if (records.length === 0) throw new InputFileError(file, "empty");
  const rows = records.map((r) => r.cells);
  const header = rows[0].map((h) => h.trim().toLowerCase());
  const column = (name: string) => header.indexOf(name);
  const [pathCol, labelCol, maskCol, splitCol, groupCol] = ["path", "label", "mask", "split", "group"].map(
    column,
  );
  if (pathCol < 0 || labelCol < 0)
    throw new InputFileError(
      file,
      "wrong-format",
      `header needs path and label columns, got ${header.join(",")}`,
    );
  const base = dirname(file);
  const index = emptyIndex();
  for (let r = 1; r < rows.length; r++) {
    const cell = (col: number) => (col < 0 ? "" : (rows[r][col] ?? "").trim());
    const line = records[r].line;
    const where = `${file} row ${r + 1}${line === r + 1 ? "" : ` (line ${line})`}`;
    if (rows[r].length < header.length)
      throw new UserError(
        `${where}: ${rows[r].length} field${rows[r].length === 1 ? "" : "s"}, the header has ${header.length} (${header.join(",")})`,
      );
    const label = parseLabel(cell(labelCol));
    if (label === undefined)
      throw new UserError(`${where}: label "${cell(labelCol)}" is not normal/anomalous/0/1`);
    const split = SPLIT_VALUES[cell(splitCol).toLowerCase()];
    if (split === undefined)
      throw new UserError(`${where}: split "${cell(splitCol)}" is not train/valid/test/excluded`);
    const sample: Sample = {
      path: resolve(base, cell(pathCol)),
      label,
      maskPaths:
        cell(maskCol) === ""
          ? []
          : cell(maskCol)
              .split(";")
              .map((m) => resolve(base, m.trim())),
    };
    if (cell(groupCol) !== "") sample.group = cell(groupCol);
    if (split === "validation") (index.validation ??= []).push(sample);
    else index[split].push(sample);
  }
  await checkFilesExist([...index.train, ...(index.validation ?? []), ...index.test, ...index.unassigned]);
  index.notes.push(`manifest ${file}`);
  return index;
}

async function checkFilesExist(samples: Sample[]): Promise<void> {
  const paths = samples.flatMap((s) => [s.path, ...s.maskPaths]);
  const present = await Promise.all(paths.map(isFile));
  const missing = paths.find((_, i) => !present[i]);
  if (missing !== undefined) throw new InputFileError(missing, "missing", "listed in the manifest");
}

export const manifest: Layout = {
  name: "manifest",
  detect: async (root) => (await manifestFile(root)) !== undefined,
  index: async (root) => indexManifest((await manifestFile(root))!),
};
