// Text pipeline beside the engine: tokenizer.json → ids and mask in a context's inputs → pooled embeddings.
export { loadTokenizer, encodeTexts, type TextTokenizer, type EncodedBatch, type EncodeOptions } from './tokenize.js';
export { cosineMatrix, embedTexts, meanPool, textModelSpec, writeTextInputs, type EmbedResult, type TextModelSpec } from './embed.js';
