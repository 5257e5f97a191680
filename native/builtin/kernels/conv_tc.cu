// Tensor-core convolution tactics, small and medium tiles (split-K lives here) and the any-c kernel.
#include "conv_tc.cuh"

namespace ntrt::kernels::convimpl {

void addTensorCoreTactics(std::vector<Entry>& out) {
  addTcLargeTiles(out);
  addTc<TcTile<128, 64, 32, 2, 2, 4>, false>(out, {1});
  addTc<TcTile<64, 128, 32, 2, 2, 4>, false>(out, {1});
  addTc<TcTile<64, 64, 32, 2, 2, 4>, false>(out, {1});
  addTc<TcTile<128, 32, 32, 4, 1, 4>, false>(out, {1});
  // Small tiles with a deep k slice: the split-K work horses for batch-1 late layers and fully connected layers.
  addTc<TcTile<64, 64, 64, 2, 2, 3>, false>(out, {1, 2, 4, 8, 16});
  addTc<TcTile<64, 32, 64, 2, 2, 4>, false>(out, {1});
  addTc<TcTile<32, 64, 64, 2, 2, 4>, false>(out, {1, 4, 16});
  // Any c (the first layer's c = 3): register-staged element loads.
  addTc<TcTile<128, 64, 32, 2, 2, 2>, true>(out, {1});
  addTc<TcTile<64, 64, 32, 2, 2, 2>, true>(out, {1});
}

}  // namespace ntrt::kernels::convimpl
