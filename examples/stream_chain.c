/* Streams synthetic frames through online temporal shift -> causal depthwise
 * Conv3D (3x3x3, ReLU6) -> temporal (3x1x1) depthwise Conv3D, using only the
 * fastvfx C API, one frame at a time in constant memory. Prints a checksum
 * per frame; exits nonzero on any error.
 *
 *   cc stream_chain.c -Ipath/to/include libfastvfx_kernels.a -lstdc++ -lpthread -lm
 */
#include <stdio.h>
#include <stdlib.h>

#include "fastvfx/fastvfx.h"

#define C 16
#define H 14
#define W 14
#define FOLD (C / 8)
#define FRAMES 12

static int check(int status, const char* what) {
  if (status != FVX_OK) fprintf(stderr, "%s: %s\n", what, fvx_status_string(status));
  return status != FVX_OK;
}

int main(void) {
  static float frame[C * H * W], cache[FOLD * H * W], mid[C * H * W], out[C * H * W];
  static float w_spatial[C * 27], w_temporal[C * 3], bias[C];
  for (int i = 0; i < C * 27; ++i) w_spatial[i] = (float)((i % 7) - 3) / 27.0f;
  for (int i = 0; i < C * 3; ++i) w_temporal[i] = 1.0f / 3.0f;
  for (int i = 0; i < C; ++i) bias[i] = 0.01f * (float)i;

  fvx_dwconv3d *spatial = NULL, *temporal = NULL;
  if (check(fvx_dwconv3d_create(&spatial, 1, C, H, W, 3, 3, 3, 1, 1, 1, 0, 0, w_spatial, bias, FVX_ACT_RELU6),
            "create spatial") ||
      check(fvx_dwconv3d_create(&temporal, 1, C, H, W, 3, 1, 1, 1, 1, 1, 0, 0, w_temporal, NULL, FVX_ACT_NONE),
            "create temporal"))
    return 1;
  printf("fastvfx %s, ISA %s\n", fvx_version(), fvx_isa());
  for (int t = 0; t < FRAMES; ++t) {
    for (int i = 0; i < C * H * W; ++i) frame[i] = (float)(((i + 31 * t) % 17) - 8) / 8.0f;
    if (check(fvx_temporal_shift_online_f32(frame, cache, 1, C, H, W, FOLD), "shift") ||
        check(fvx_dwconv3d_step(spatial, frame, 1, mid), "spatial step") ||
        check(fvx_dwconv3d_step(temporal, mid, 1, out), "temporal step"))
      return 1;
    double sum = 0;
    for (int i = 0; i < C * H * W; ++i) sum += out[i];
    printf("frame %2d: checksum %.6f\n", t, sum);
  }
  fvx_dwconv3d_destroy(spatial);
  fvx_dwconv3d_destroy(temporal);
  return 0;
}
