// `node-tensorrt capabilities [--json]` (alias `info`): what this machine offers, readable.
import { Command } from 'commander';
import { capabilities, type Capabilities } from '../../capabilities.js';
import type { NativeTacticSourceInfo } from '../../native.js';
import { libraryVersion } from '../../version.js';
import { formatBytes, table } from '../format.js';
import { println, type CliIO } from '../io.js';

/**
 * The `capabilities` command.
 * @example program.addCommand(capabilitiesCommand(processIO()));
 */
export function capabilitiesCommand(io: CliIO): Command {
  return new Command('capabilities')
    .alias('info')
    .description('show CUDA devices, driver/runtime versions, TensorRT and the available backends')
    .option('--json', 'print JSON')
    .action((flags: { json?: boolean }) => {
      const caps = capabilities();
      if (flags.json) println(io.out, JSON.stringify({ version: libraryVersion(), ...caps }, null, 2));
      else for (const l of formatCapabilities(caps)) println(io.out, l);
    });
}

const NO_ADDON = 'the native addon did not load';

/** Without the addon every part has the same long reason: say it once, on the addon line. */
function withoutRepeatedReason(c: Capabilities): Capabilities {
  const r = (reason?: string) => (reason === c.addon.reason ? NO_ADDON : reason);
  return {
    ...c,
    cuda: { ...c.cuda, reason: r(c.cuda.reason) },
    tensorrt: { ...c.tensorrt, reason: r(c.tensorrt.reason) },
    tacticSources: {
      cublasLt: { ...c.tacticSources.cublasLt, reason: r(c.tacticSources.cublasLt.reason) },
      cudnn: { ...c.tacticSources.cudnn, reason: r(c.tacticSources.cudnn.reason) },
    },
    backends: Object.fromEntries(Object.entries(c.backends).map(([k, b]) => [k, { ...b, reason: r(b.reason) }])) as Capabilities['backends'],
  };
}

const yes = (ok: boolean, detail = '', reason?: string): string => (ok ? `yes${detail ? ` (${detail})` : ''}` : `no${reason ? ` (${reason})` : ''}`);

function source(s: NativeTacticSourceInfo): string {
  if (!s.compiled) return `not compiled in${s.reason ? ` (${s.reason})` : ''}`;
  return yes(s.available, s.version ?? '', s.reason);
}

const SOURCE_NAMES = { 'platform-package': 'platform package', build: 'local build', prebuilds: 'prebuilds/', env: 'NODE_TENSORRT_ADDON' };

/** "CUDA archs 75,80,86,89,90 + PTX 90, from the platform package". */
function addonDetail(a: Capabilities['addon']): string {
  const parts: string[] = [];
  if (a.cudaArchitectures) parts.push(`CUDA archs ${a.cudaArchitectures}${a.cudaPtx ? ` + PTX ${a.cudaPtx}` : ''}`);
  if (a.source) parts.push(`from the ${SOURCE_NAMES[a.source]}`);
  return parts.join(', ');
}

/**
 * capabilities() as lines of text.
 * @example formatCapabilities(capabilities()).forEach((l) => console.log(l));
 */
export function formatCapabilities(caps: Capabilities): string[] {
  const c = caps.addon.loaded ? caps : withoutRepeatedReason(caps);
  const rows: (string | number)[][] = [
    ['addon', yes(c.addon.loaded, addonDetail(c.addon), c.addon.reason)],
    ['CUDA', c.cuda.available ? `driver ${c.cuda.driverVersion ?? '?'}, runtime ${c.cuda.runtimeVersion ?? '?'}` : `unavailable (${c.cuda.reason ?? 'unknown reason'})`],
  ];
  for (const d of c.cuda.devices) {
    rows.push([`  GPU ${d.index}`, `${d.name}, sm ${d.computeCapability}, ${formatBytes(d.totalMemory)}, ${d.multiprocessorCount} SMs`]);
  }
  rows.push(['TensorRT', c.tensorrt.available ? `${c.tensorrt.version}` : c.tensorrt.compiled ? `not available (${c.tensorrt.reason ?? 'unknown reason'})` : `not compiled in${c.tensorrt.reason ? ` (${c.tensorrt.reason})` : ''}`]);
  rows.push(['cuBLASLt', source(c.tacticSources.cublasLt)]);
  rows.push(['cuDNN', source(c.tacticSources.cudnn)]);
  const backends = Object.entries(c.backends).map(([name, b]) => [`  ${name}`, yes(b.available, b.version ?? '', b.reason)]);
  return [`node-tensorrt ${libraryVersion()}`, ...table([...rows, ['backends', ''], ...backends])];
}
