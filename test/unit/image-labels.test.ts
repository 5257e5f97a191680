import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLabels, parseLabels } from '../../lib/image/index.js';

describe('labels', () => {
  it('reads one label per line, keeping inner blanks and dropping trailing ones', () => {
    expect(parseLabels('background\r\ntench\n\ngoldfish\n\n')).toEqual(['background', 'tench', '', 'goldfish']);
  });

  it('strips the wnid of ImageNet synset lines', () => {
    expect(parseLabels('\uFEFFn01440364 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n')).toEqual([
      'tench, Tinca tinca',
      'goldfish, Carassius auratus',
    ]);
    // A file where only some lines look like synsets is plain lines.
    expect(parseLabels('n01440364 tench\nbackground')).toEqual(['n01440364 tench', 'background']);
  });

  it('reads JSON arrays and index maps, including Keras imagenet_class_index.json', () => {
    expect(parseLabels('["tench", "goldfish"]')).toEqual(['tench', 'goldfish']);
    expect(parseLabels('{"1": "goldfish", "0": "tench"}')).toEqual(['tench', 'goldfish']);
    expect(parseLabels('{"0": ["n01440364", "tench"], "1": ["n01443537", "goldfish"]}')).toEqual(['tench', 'goldfish']);
    expect(() => parseLabels('["tench", 3]', 'l.json')).toThrow('Expected a string or [id, name] for l.json[1] but received 3 of type number');
    expect(() => parseLabels('{"0": "a", "5": "b"}', 'l.json')).toThrow("Expected class indices 0..1 as the keys of l.json but found '5'");
    expect(() => parseLabels('[1, 2', 'l.json')).toThrow('l.json looks like JSON but does not parse');
    expect(() => parseLabels('\n\n', 'l.txt')).toThrow('l.txt contains no labels');
  });

  it('loads a file and reports a missing one with ERR_IO', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ntrt-labels-'));
    const file = path.join(dir, 'synset.txt');
    writeFileSync(file, 'n01440364 tench, Tinca tinca\n');
    expect(await loadLabels(file)).toEqual(['tench, Tinca tinca']);
    await expect(loadLabels(path.join(dir, 'nope.txt'))).rejects.toMatchObject({ code: 'ERR_IO', message: expect.stringContaining('nope.txt') });
  });
});
