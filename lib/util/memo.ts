// Values derived from constant data, made once per source array: a build optimizes and lowers the same model at
// several sample batches and dim values, and converting or packing BERT-base's weights costs seconds each time.
// Constant data is never written after parsing or folding, so a result stays valid while its source lives.

/**
 * Results keyed by a source object (a constant's data) and a string naming the derivation; entries go with the source.
 * @example const halves = new SourceMemo<Uint16Array>(); halves.get(data, '', () => float32ToHalf(data))
 */
export class SourceMemo<V> {
  readonly #bySource = new WeakMap<object, Map<string, V>>();

  get(source: object, key: string, make: () => V): V {
    let byKey = this.#bySource.get(source);
    if (!byKey) this.#bySource.set(source, (byKey = new Map()));
    let v = byKey.get(key);
    if (v === undefined) byKey.set(key, (v = make()));
    return v;
  }
}
