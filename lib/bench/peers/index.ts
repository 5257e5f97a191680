// The peers, run in a fixed order on the same ONNX model; each one that cannot run says why.
import { DEFAULT_PEERS, type PeerName } from '../options.js';
import { ortPeer } from './ort.js';
import { torchCompilePeer, torchPeer } from './torch.js';
import { trtexecPeer } from './trtexec.js';
import { skipped, type PeerReport, type PeerRequest } from './types.js';

export type { PeerReport, PeerRequest, PeerRun } from './types.js';

const RUNNERS: Record<PeerName, (req: PeerRequest) => Promise<PeerReport>> = { torch: torchPeer, 'torch-compile': torchCompilePeer, ort: ortPeer, trtexec: trtexecPeer };
const ORDER: readonly PeerName[] = ['torch', 'torch-compile', 'ort', 'trtexec'];

/**
 * Runs the requested peers one after another (never concurrently: they would disturb each other's timings).
 * Peers not requested, impossible for a plan-file model, or needing a GPU this run lacks, are listed as skipped
 * with the reason, as are onnxruntime and trtexec under --nms (they have no NMS stage); the opt-in torch-compile
 * peer is left out unless requested.
 * @example const peers = await runPeers(request, ['torch', 'ort']);
 */
export async function runPeers(req: PeerRequest | { planOnly: string }, wanted: readonly PeerName[]): Promise<PeerReport[]> {
  const out: PeerReport[] = [];
  for (const name of ORDER) {
    if (!wanted.includes(name) && !DEFAULT_PEERS.includes(name)) continue;
    if (!wanted.includes(name)) out.push(skipped(name, 'not requested (--peers)'));
    else if ('planOnly' in req) out.push(skipped(name, req.planOnly));
    else if (req.nms && (name === 'ort' || name === 'trtexec')) out.push(skipped(name, '--nms: this peer would time the network without the NMS stage, which is not comparable'));
    else if (!req.hasGpu && name !== 'ort') out.push(skipped(name, req.noGpuReason ?? 'no CUDA device'));
    else out.push(await RUNNERS[name](req));
  }
  return out;
}
