// The ONNX front end: reading (protobufjs, external data) and writing standard ONNX.
export { parseModel, loadModel, decodeModelProto, externalDataLocations, protoToGraph, MIN_OPSET, MAX_OPSET, type ParseOptions } from './reader.js';
export { writeModel } from './writer.js';
export { tensorToConstant, constantToTensor, externalDataPath } from './tensor.js';
