// The architectures the CUDA kernels were compiled for (set by CMake).
#include "fastvfx/cuda.h"

namespace fastvfx::cuda {

const char* compiled_architectures() { return FASTVFX_CUDA_ARCHITECTURES; }

}  // namespace fastvfx::cuda
