import { describe, expect, it } from 'vitest';
import { benchCommand, parseBenchArgs } from '../../lib/bench/command.js';
import { resolveBenchOptions } from '../../lib/bench/options.js';
import { planRun } from '../../lib/bench/run.js';

describe('bench options', () => {
  it('has trtexec-like defaults', () => {
    const o = parseBenchArgs([]);
    expect(o).toMatchObject({
      model: undefined,
      batches: [1, 32, 256],
      batchesExplicit: false,
      optBatch: undefined,
      warmUpMs: 200,
      iterations: 10,
      durationS: 3,
      streams: [1],
      cudaGraph: true,
      transfers: true,
      percentiles: [90, 95, 99],
      precisions: ['fp32', 'fp16'],
      backend: 'auto',
      report: 'bench-report.html',
      peers: ['torch', 'ort', 'trtexec'],
      accuracy: false,
      exportProfile: false,
      repeat: 1,
      seed: 42,
      python: 'python3',
    });
  });

  it('parses every flag by its trtexec name', () => {
    const o = parseBenchArgs([
      'm.onnx', '--batch', '8,1,8', '--optBatch', '4', '--warmUp=0', '--iterations', '50', '--duration', '0.5', '--streams', '1,4',
      '--noCudaGraph', '--noDataTransfers', '--percentile', '50,99.9', '--precision', 'fp16', '--backend', 'builtin', '--device', '1',
      '--json', 'o.json', '--noReport', '--peers', 'torch,ort', '--accuracy', '--exportProfile', 'p.json', '--repeat', '2', '--seed', '0',
    ]);
    expect(o).toMatchObject({
      model: 'm.onnx', batches: [8, 1], batchesExplicit: true, optBatch: 4, warmUpMs: 0, iterations: 50, durationS: 0.5, streams: [1, 4],
      cudaGraph: false, transfers: false, percentiles: [50, 99.9], precisions: ['fp16'], backend: 'builtin', device: 1, json: 'o.json',
      report: null, peers: ['torch', 'ort'], accuracy: true, exportProfile: 'p.json', repeat: 2, seed: 0,
    });
    expect(parseBenchArgs(['--exportProfile']).exportProfile).toBe(true);
    expect(parseBenchArgs(['--peers', 'none']).peers).toEqual([]);
    // torch.compile max-autotune takes minutes: only on request.
    expect(parseBenchArgs([]).peers).not.toContain('torch-compile');
    expect(parseBenchArgs(['--peers', 'torch,torch-compile']).peers).toEqual(['torch', 'torch-compile']);
    expect(parseBenchArgs(['--report', 'x.html']).report).toBe('x.html');
  });

  it('rejects bad values with messages that name the flag', () => {
    const bad: [string[], string][] = [
      [['--batch', '1,x'], "Expected a comma-separated list of positive integers for --batch but received '1,x' of type string"],
      [['--batch', '0'], "Expected a comma-separated list of positive integers for --batch but received '0' of type string"],
      [['--batch', '1,,2'], "Expected a comma-separated list of positive integers for --batch but received '1,,2' of type string"],
      [['--iterations', '0'], "Expected a positive integer for --iterations but received '0' of type string"],
      [['--iterations', '1e3'], "Expected a positive integer for --iterations but received '1e3' of type string"],
      [['--duration', '-1'], "Expected a non-negative number for --duration but received '-1' of type string"],
      [['--warmUp', 'abc'], "Expected a non-negative number for --warmUp but received 'abc' of type string"],
      [['--percentile', '90,101'], "Expected a comma-separated list of percentiles in [0, 100] for --percentile but received '90,101' of type string"],
      [['--peers', 'torch,tf'], "Expected a comma-separated list of torch, torch-compile, ort, trtexec (or 'none') for --peers but received 'torch,tf' of type string"],
      [['--repeat', '0'], "Expected a positive integer for --repeat but received '0' of type string"],
      [['--device', '-1'], "Expected a non-negative integer for --device but received '-1' of type string"],
      [['--useCudaGraph', '--noCudaGraph'], '--useCudaGraph and --noCudaGraph contradict each other; pass one of them'],
      [['--report', 'a.html', '--noReport'], '--report and --noReport contradict each other; pass one of them'],
      [['--nms', '0.25,0.45'], "Expected SCORE,IOU,MAX (two numbers from 0 to 1 and a detection count from 1 to 1024, e.g. 0.25,0.45,100) for --nms but received '0.25,0.45' of type string"],
      [['--nms', '1.5,0.45,100'], "Expected SCORE,IOU,MAX (two numbers from 0 to 1 and a detection count from 1 to 1024, e.g. 0.25,0.45,100) for --nms but received '1.5,0.45,100' of type string"],
      [['--nms', '0.25,0.45,2000'], "Expected SCORE,IOU,MAX (two numbers from 0 to 1 and a detection count from 1 to 1024, e.g. 0.25,0.45,100) for --nms but received '0.25,0.45,2000' of type string"],
      [['--dataset', 'a', '--digits', 'b'], '--dataset and --digits name the same thing; pass one of them'],
    ];
    for (const [argv, msg] of bad) {
      let err: unknown;
      try {
        parseBenchArgs(argv);
      } catch (e) {
        err = e;
      }
      expect(err, argv.join(' ')).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: msg });
    }
  });

  it('takes --nms alone (YOLO defaults) or SCORE,IOU,MAX, and --dataset or the older --digits', () => {
    expect(parseBenchArgs([]).nms).toBeUndefined();
    expect(parseBenchArgs(['m.onnx', '--nms']).nms).toEqual({ scoreThreshold: 0.25, iouThreshold: 0.45, maxOutput: 100 });
    expect(parseBenchArgs(['--nms', '0.3,0.5,300', 'm.onnx'])).toMatchObject({ model: 'm.onnx', nms: { scoreThreshold: 0.3, iouThreshold: 0.5, maxOutput: 300 } });
    expect(parseBenchArgs(['--dataset', 'shapes']).dataset).toBe('shapes');
    expect(parseBenchArgs(['--digits', 'd']).dataset).toBe('d');
  });

  it('leaves choices and unknown flags to commander', () => {
    expect(() => parseBenchArgs(['--precision', 'int8'])).toThrow(/argument 'int8' is invalid. Allowed choices are fp16, fp32, both/);
    expect(() => parseBenchArgs(['--backend', 'cuda'])).toThrow(/Allowed choices are auto, builtin, tensorrt, reference/);
    expect(() => parseBenchArgs(['--bogus'])).toThrow(/unknown option '--bogus'/);
  });

  it('exits with status 2 and the message when the CLI gets a bad value', async () => {
    let stderr = '';
    const cmd = benchCommand().exitOverride().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined });
    await expect(cmd.parseAsync(['--iterations', '-3'], { from: 'user' })).rejects.toMatchObject({ exitCode: 2, code: 'ERR_INVALID_ARGUMENT' });
    expect(stderr).toContain("error: Expected a positive integer for --iterations but received '-3' of type string");
  });

  it('resolves directly from raw values too', () => {
    expect(resolveBenchOptions({ precision: 'both' }).precisions).toEqual(['fp32', 'fp16']);
    expect(() => resolveBenchOptions({ precision: 'fp8' })).toThrow("Expected one of 'fp16', 'fp32', 'both' for --precision but received 'fp8' of type string");
  });
});

describe('bench plan on the machine', () => {
  const noGpu = { cuda: { available: false, reason: 'No CUDA driver', driverVersion: null, runtimeVersion: null, devices: [] } };
  const gpu = { cuda: { available: true, driverVersion: '13.0', runtimeVersion: '13.0', devices: [] } };

  it('runs the reference backend in FP32 at batch 1 without a GPU, and says so', () => {
    const p = planRun(parseBenchArgs([]), noGpu);
    expect(p).toMatchObject({ gpu: false, backend: 'reference', precisions: ['fp32'], batches: [1], optBatch: 1 });
    expect(p.notes[0]).toMatch(/^No CUDA device \(No CUDA driver\): running the reference backend \(CPU, FP32\) against onnxruntime-node/);
    expect(planRun(parseBenchArgs(['--batch', '2,4']), noGpu).batches).toEqual([2, 4]);
  });

  it('refuses a GPU backend without a GPU', () => {
    expect(() => planRun(parseBenchArgs(['--backend', 'builtin']), noGpu)).toThrow(
      expect.objectContaining({ code: 'ERR_NO_CUDA_DEVICE', message: expect.stringContaining('--backend builtin needs a CUDA device: No CUDA driver') }),
    );
  });

  it('keeps the options on a GPU machine; the opt batch defaults to the largest batch', () => {
    expect(planRun(parseBenchArgs([]), gpu)).toMatchObject({ gpu: true, backend: 'auto', precisions: ['fp32', 'fp16'], batches: [1, 32, 256], optBatch: 256, notes: [] });
    expect(planRun(parseBenchArgs(['--optBatch', '32']), gpu).optBatch).toBe(32);
  });

  it('says what --nms changes', () => {
    expect(planRun(parseBenchArgs(['--nms']), gpu).notes).toEqual([
      "--nms: the engines end with the postprocess.nms stage (score > 0.25, IoU 0.45, max 100 per image) and the PyTorch peer decodes and runs torchvision's batched_nms per image after the network; onnxruntime and trtexec would time the network alone, so they are skipped.",
    ]);
  });
});
