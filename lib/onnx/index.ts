// The ONNX front end: reading (protobufjs, external data) and writing standard ONNX.
export { parseModel, loadModel, decodeModelProto, protoToGraph, MIN_OPSET, MAX_OPSET, type ParseOptions } from './reader.js';
export { writeModel } from './writer.js';
export { tensorToConstant, constantToTensor } from './tensor.js';
