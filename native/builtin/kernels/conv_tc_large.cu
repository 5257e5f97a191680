// Tensor-core convolution tactics, large tiles: the compute-bound layers at large batch.
#include "conv_tc.cuh"

namespace ntrt::kernels::convimpl {

void addTcLargeTiles(std::vector<Entry>& out) {
  addTc<TcTile<256, 128, 32, 4, 2, 3>, false>(out, {1});
  addTc<TcTile<128, 256, 32, 2, 4, 3>, false>(out, {1});
  addTc<TcTile<128, 128, 32, 2, 2, 4>, false>(out, {1});
  addTc<TcTile<128, 128, 64, 2, 2, 3>, false>(out, {1});
}

}  // namespace ntrt::kernels::convimpl
