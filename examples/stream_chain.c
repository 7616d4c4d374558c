/* Streams synthetic frames through online temporal shift -> causal depthwise
 * Conv3D (3x3x3, ReLU6) -> temporal (3x1x1) depthwise Conv3D -> Temporal
 * Focus Convolution (gate + 1x1 conv), using only the fastvfx C API, one
 * frame at a time in constant memory. Prints a checksum per frame; exits
 * nonzero on any error.
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
#define HIDDEN 4
#define FRAMES 12

static int check(int status, const char* what) {
  if (status != FVX_OK) fprintf(stderr, "%s: %s\n", what, fvx_status_string(status));
  return status != FVX_OK;
}

int main(void) {
  static float frame[C * H * W], cache[FOLD * H * W], mid[C * H * W], out[C * H * W];
  static float w_spatial[C * 27], w_temporal[C * 3], bias[C], tfc_out[C * H * W], gate[C];
  static float w_conv[C * C], w_fc1[HIDDEN * C], w_fc2[C * HIDDEN];
  for (int i = 0; i < C * 27; ++i) w_spatial[i] = (float)((i % 7) - 3) / 27.0f;
  for (int i = 0; i < C * 3; ++i) w_temporal[i] = 1.0f / 3.0f;
  for (int i = 0; i < C; ++i) bias[i] = 0.01f * (float)i;
  for (int i = 0; i < C * C; ++i) w_conv[i] = (float)((i % 5) - 2) / 8.0f;
  for (int i = 0; i < HIDDEN * C; ++i) w_fc1[i] = (float)((i % 3) - 1) / 4.0f;
  for (int i = 0; i < C * HIDDEN; ++i) w_fc2[i] = (float)((i % 7) - 3) / 2.0f;

  fvx_dwconv3d *spatial = NULL, *temporal = NULL;
  fvx_tfc* tfc = NULL;
  if (check(fvx_dwconv3d_create(&spatial, 1, C, H, W, 3, 3, 3, 1, 1, 1, 0, 0, w_spatial, bias, FVX_ACT_RELU6),
            "create spatial") ||
      check(fvx_dwconv3d_create(&temporal, 1, C, H, W, 3, 1, 1, 1, 1, 1, 0, 0, w_temporal, NULL, FVX_ACT_NONE),
            "create temporal") ||
      check(fvx_tfc_create(&tfc, C, C, HIDDEN, 1, 1, 1, 1, 0, 0, w_conv, NULL, w_fc1, NULL, w_fc2, NULL, FVX_POOL_AVG),
            "create tfc"))
    return 1;
  printf("fastvfx %s, ISA %s\n", fvx_version(), fvx_isa());
  for (int t = 0; t < FRAMES; ++t) {
    for (int i = 0; i < C * H * W; ++i) frame[i] = (float)(((i + 31 * t) % 17) - 8) / 8.0f;
    if (check(fvx_temporal_shift_online_f32(frame, cache, 1, C, H, W, FOLD), "shift") ||
        check(fvx_dwconv3d_step(spatial, frame, 1, mid), "spatial step") ||
        check(fvx_dwconv3d_step(temporal, mid, 1, out), "temporal step") ||
        check(fvx_tfc_forward(tfc, out, 1, H, W, tfc_out, gate), "tfc"))
      return 1;
    double sum = 0, gate_sum = 0;
    for (int i = 0; i < C * H * W; ++i) sum += tfc_out[i];
    for (int i = 0; i < C; ++i) gate_sum += gate[i];
    printf("frame %2d: checksum %.6f, mean gate %.4f\n", t, sum, gate_sum / C);
  }
  fvx_dwconv3d_destroy(spatial);
  fvx_dwconv3d_destroy(temporal);
  fvx_tfc_destroy(tfc);
  return 0;
}
