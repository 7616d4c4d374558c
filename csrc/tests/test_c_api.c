/* The C API from C: status codes for bad arguments, the shift against a naive
 * loop, the streaming Conv3D state against the whole clip and a naive causal
 * depthwise convolution, and the TFC against a naive gate and conv. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastvfx/fastvfx.h"

static int failures = 0;
#define EXPECT(cond, ...)                                              \
  do {                                                                 \
    if (!(cond)) {                                                     \
      ++failures;                                                      \
      fprintf(stderr, "%s:%d: EXPECT(%s): ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                    \
      fprintf(stderr, "\n");                                           \
    }                                                                  \
  } while (0)

static float value(int64_t i) { return (float)((i * 7919) % 1000) / 500.0f - 1.0f; }

static void test_statuses(void) {
  float x[2 * 8 * 4];
  EXPECT(fvx_version() != NULL && strlen(fvx_version()) > 0, "version");
  EXPECT(fvx_temporal_shift_f32(NULL, 1, 2, 8, 2, 2, 8, FVX_SHIFT_BIDIRECTIONAL) == FVX_ERR_NULL, "null");
  EXPECT(fvx_temporal_shift_f32(x, 0, 2, 8, 2, 2, 8, FVX_SHIFT_BIDIRECTIONAL) == FVX_ERR_SIZE, "n_batch 0");
  EXPECT(fvx_temporal_shift_f32(x, 1, 2, 8, -1, 2, 8, FVX_SHIFT_BIDIRECTIONAL) == FVX_ERR_SIZE, "height -1");
  EXPECT(fvx_temporal_shift_f32(x, 1, 2, 8, 2, 2, 0, FVX_SHIFT_BIDIRECTIONAL) == FVX_ERR_ARGUMENT, "fold_div 0");
  EXPECT(fvx_temporal_shift_f32(x, 1, 2, 8, 2, 2, 8, 7) == FVX_ERR_ARGUMENT, "mode 7");
  EXPECT(fvx_temporal_shift_online_f32(x, NULL, 1, 8, 2, 2, 1) == FVX_ERR_NULL, "online null cache");
  EXPECT(fvx_temporal_shift_online_f32(x, x + 32, 1, 8, 2, 2, 9) == FVX_ERR_SIZE, "fold > channels");
  EXPECT(fvx_set_isa("sse9") == FVX_ERR_ARGUMENT, "unknown ISA");
  EXPECT(fvx_set_isa(NULL) == FVX_ERR_NULL, "null ISA");
  EXPECT(fvx_set_isa("scalar") == FVX_OK && strcmp(fvx_isa(), "scalar") == 0, "scalar ISA");
  EXPECT(fvx_set_num_threads(0) == FVX_ERR_ARGUMENT, "0 threads");
  EXPECT(strcmp(fvx_status_string(FVX_ERR_SIZE), "unknown status") != 0, "status string");

  float w[27] = {0};
  fvx_dwconv3d* st = (fvx_dwconv3d*)&w; /* must be overwritten with NULL on failure */
  EXPECT(fvx_dwconv3d_create(&st, 1, 1, 4, 4, 3, 3, 3, 1, 1, 1, 0, 0, NULL, NULL, FVX_ACT_NONE) == FVX_ERR_NULL,
         "null weight");
  EXPECT(st == NULL, "state not cleared on a null weight");
  st = (fvx_dwconv3d*)&w;
  EXPECT(fvx_dwconv3d_create(&st, 1, 1, 4, 4, 3, 3, 3, 3, 9, 1, 0, 0, w, NULL, FVX_ACT_NONE) == FVX_ERR_ARGUMENT,
         "stride 9");
  EXPECT(st == NULL, "state not cleared on failure");
  EXPECT(fvx_dwconv3d_create(&st, 1, 1, 4, 4, 3, 3, 3, 1, 1, 1, 0, 0, w, NULL, 9) == FVX_ERR_ARGUMENT, "activation");
  EXPECT(fvx_dwconv3d_create(&st, 1, 0, 4, 4, 3, 3, 3, 1, 1, 1, 0, 0, w, NULL, FVX_ACT_NONE) == FVX_ERR_SIZE, "0 ch");
  EXPECT(fvx_dwconv3d_create(&st, 1, 1, 2, 2, 3, 5, 5, 1, 1, 0, 0, 0, w, NULL, FVX_ACT_NONE) == FVX_ERR_SIZE,
         "kernel larger than the padded input");
  EXPECT(fvx_dwconv3d_step(NULL, w, 1, w) == FVX_ERR_NULL, "null state");
  EXPECT(fvx_dwconv3d_reset(NULL) == FVX_ERR_NULL, "reset null");
  fvx_dwconv3d_destroy(NULL);
}

static void test_shift(void) {
  enum { N = 2, T = 3, C = 16, HW = 5 };
  float x[N * T * C * HW], want[N * T * C * HW];
  const int fold = C / 8;
  for (int i = 0; i < N * T * C * HW; ++i) x[i] = value(i);
  for (int b = 0; b < N; ++b)
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < C; ++c)
        for (int p = 0; p < HW; ++p) {
          int src = t;
          if (c < fold) src = t + 1;
          else if (c < 2 * fold) src = t - 1;
          want[((b * T + t) * C + c) * HW + p] =
              (src < 0 || src >= T) ? 0.0f : x[((b * T + src) * C + c) * HW + p];
        }
  EXPECT(fvx_temporal_shift_f32(x, N, T, C, 1, HW, 8, FVX_SHIFT_BIDIRECTIONAL) == FVX_OK, "shift");
  EXPECT(memcmp(x, want, sizeof x) == 0, "shift differs from the naive loop");
}

/* Naive causal depthwise conv, TF "same" padding, stride s. */
static void naive_dwconv(const float* x, const float* w, const float* b, float* y, int n, int c, int t, int h,
                         int wd, int kt, int kh, int kw, int s, int oh_n, int ow_n, int pt, int pl) {
  for (int ni = 0; ni < n; ++ni)
    for (int ci = 0; ci < c; ++ci)
      for (int ti = 0; ti < t; ++ti)
        for (int oh = 0; oh < oh_n; ++oh)
          for (int ow = 0; ow < ow_n; ++ow) {
            double acc = b[ci];
            for (int a = 0; a < kt; ++a)
              for (int i = 0; i < kh; ++i)
                for (int j = 0; j < kw; ++j) {
                  const int tt = ti - (kt - 1) + a, ih = oh * s + i - pt, iw = ow * s + j - pl;
                  if (tt < 0 || ih < 0 || iw < 0 || ih >= h || iw >= wd) continue;
                  acc += (double)w[((ci * kt + a) * kh + i) * kw + j] *
                         x[(((ni * c + ci) * t + tt) * h + ih) * wd + iw];
                }
            y[(((ni * c + ci) * t + ti) * oh_n + oh) * ow_n + ow] = (float)acc;
          }
}

static void test_dwconv_stream(void) {
  enum { N = 2, C = 5, T = 7, H = 9, W = 8, KT = 3, K = 3, S = 2 };
  static float x[N * C * T * H * W], w[C * KT * K * K], b[C];
  static float whole[N * C * T * 5 * 4], chunked[N * C * T * 5 * 4], want[N * C * T * 5 * 4];
  for (int i = 0; i < N * C * T * H * W; ++i) x[i] = value(i);
  for (int i = 0; i < C * KT * K * K; ++i) w[i] = value(3 * i + 1);
  for (int i = 0; i < C; ++i) b[i] = value(11 * i + 5);
  fvx_dwconv3d *a = NULL, *c = NULL;
  EXPECT(fvx_dwconv3d_create(&a, N, C, H, W, KT, K, K, S, S, 1, 0, 0, w, b, FVX_ACT_NONE) == FVX_OK, "create");
  EXPECT(fvx_dwconv3d_create(&c, N, C, H, W, KT, K, K, S, S, 1, 0, 0, w, b, FVX_ACT_NONE) == FVX_OK, "create");
  int64_t oh = 0, ow = 0;
  EXPECT(fvx_dwconv3d_output_size(a, &oh, &ow) == FVX_OK && oh == 5 && ow == 4, "output size %ld x %ld",
         (long)oh, (long)ow);
  /* TF same, stride 2: 9 -> 5 (pad 1 in front), 8 -> 4 (pad 0 in front). */
  naive_dwconv(x, w, b, want, N, C, T, H, W, KT, K, K, S, 5, 4, 1, 0);
  EXPECT(fvx_dwconv3d_step(a, x, T, whole) == FVX_OK, "whole clip");
  float max_err = 0;
  for (int i = 0; i < N * C * T * 20; ++i) max_err = fmaxf(max_err, fabsf(whole[i] - want[i]));
  EXPECT(max_err < 1e-5f, "whole clip vs naive: max error %g", max_err);

  /* Frames 0..T-1 in chunks 2, 1, 3, 1: each chunk is (N, C, len, H, W). */
  const int chunks[] = {2, 1, 3, 1};
  int start = 0;
  for (int k = 0; k < 4; ++k) {
    const int len = chunks[k];
    float* xc = malloc(sizeof(float) * N * C * len * H * W);
    float* yc = malloc(sizeof(float) * N * C * len * 20);
    for (int p = 0; p < N * C; ++p) memcpy(xc + p * len * H * W, x + (p * T + start) * H * W, sizeof(float) * len * H * W);
    EXPECT(fvx_dwconv3d_step(c, xc, len, yc) == FVX_OK, "chunk");
    for (int p = 0; p < N * C; ++p) memcpy(chunked + (p * T + start) * 20, yc + p * len * 20, sizeof(float) * len * 20);
    free(xc);
    free(yc);
    start += len;
  }
  EXPECT(memcmp(chunked, whole, sizeof whole) == 0, "chunked stream differs from the whole clip");

  /* After a reset the state reproduces the start of the video. */
  EXPECT(fvx_dwconv3d_reset(c) == FVX_OK, "reset");
  EXPECT(fvx_dwconv3d_step(c, x, T, chunked) == FVX_OK, "after reset");
  EXPECT(memcmp(chunked, whole, sizeof whole) == 0, "reset did not restart the video");
  EXPECT(fvx_dwconv3d_step(c, x, 0, chunked) == FVX_ERR_SIZE, "t = 0");
  fvx_dwconv3d_destroy(a);
  fvx_dwconv3d_destroy(c);
}

static void test_tfc_statuses(void) {
  float w[64] = {0};
  fvx_tfc* t = (fvx_tfc*)&w; /* must be overwritten with NULL on failure */
  EXPECT(fvx_tfc_create(&t, 4, 4, 2, 1, 1, 1, 1, 0, 0, w, NULL, NULL, NULL, w, NULL, FVX_POOL_AVG) == FVX_ERR_NULL,
         "null fc1");
  EXPECT(t == NULL, "tfc not cleared on failure");
  EXPECT(fvx_tfc_create(&t, 4, 0, 2, 1, 1, 1, 1, 0, 0, w, NULL, w, NULL, w, NULL, FVX_POOL_AVG) == FVX_ERR_SIZE,
         "0 output channels");
  EXPECT(fvx_tfc_create(&t, 4, 4, 2, 1, 1, 0, 1, 0, 0, w, NULL, w, NULL, w, NULL, FVX_POOL_AVG) == FVX_ERR_ARGUMENT,
         "stride 0");
  EXPECT(fvx_tfc_create(&t, 4, 4, 2, 1, 1, 1, 1, -1, 0, w, NULL, w, NULL, w, NULL, FVX_POOL_AVG) == FVX_ERR_ARGUMENT,
         "negative padding");
  EXPECT(fvx_tfc_create(&t, 4, 4, 2, 1, 1, 1, 1, 0, 0, w, NULL, w, NULL, w, NULL, 2) == FVX_ERR_ARGUMENT, "pool 2");
  EXPECT(fvx_tfc_create(&t, 2, 2, 1, 3, 3, 1, 1, 0, 0, w, NULL, w, NULL, w, NULL, FVX_POOL_MAX) == FVX_OK, "create");
  int64_t oh = 0, ow = 0;
  EXPECT(fvx_tfc_output_size(t, 2, 5, &oh, &ow) == FVX_ERR_SIZE, "3x3 kernel on 2 rows without padding");
  EXPECT(fvx_tfc_forward(t, w, 1, 2, 5, w + 32, NULL) == FVX_ERR_SIZE, "forward on too small an input");
  EXPECT(fvx_tfc_forward(t, w, 0, 3, 3, w + 32, NULL) == FVX_ERR_SIZE, "n = 0");
  EXPECT(fvx_tfc_forward(t, NULL, 1, 3, 3, w + 32, NULL) == FVX_ERR_NULL, "null x");
  EXPECT(fvx_tfc_forward(NULL, w, 1, 3, 3, w + 32, NULL) == FVX_ERR_NULL, "null tfc");
  fvx_tfc_destroy(t);
  fvx_tfc_destroy(NULL);
}

/* The gate and conv written out naively (double accumulation). */
static void test_tfc(int pool, int k, int stride, int pad) {
  enum { N = 2, CI = 12, CO = 10, HID = 3, H = 9, W = 7 };
  static float x[N * CI * H * W], cw[CO * CI * 3 * 3], cb[CO], w1[HID * CI], b1[HID], w2[CI * HID], b2[CI];
  static float y[N * CO * H * W], scale[N * CI], y2[N * CO * H * W];
  for (int i = 0; i < N * CI * H * W; ++i) x[i] = value(i);
  for (int i = 0; i < CO * CI * k * k; ++i) cw[i] = value(5 * i + 2);
  for (int i = 0; i < CO; ++i) cb[i] = value(13 * i + 1);
  for (int i = 0; i < HID * CI; ++i) w1[i] = value(7 * i + 3);
  for (int i = 0; i < HID; ++i) b1[i] = value(17 * i + 4);
  for (int i = 0; i < CI * HID; ++i) w2[i] = 3 * value(11 * i + 6);
  for (int i = 0; i < CI; ++i) b2[i] = value(19 * i + 8);
  fvx_tfc* t = NULL;
  EXPECT(fvx_tfc_create(&t, CI, CO, HID, k, k, stride, stride, pad, pad, cw, cb, w1, b1, w2, b2, pool) == FVX_OK,
         "create");
  int64_t oh = 0, ow = 0;
  EXPECT(fvx_tfc_output_size(t, H, W, &oh, &ow) == FVX_OK, "output size");
  EXPECT(oh == (H + 2 * pad - k) / stride + 1 && ow == (W + 2 * pad - k) / stride + 1, "output size %ld x %ld",
         (long)oh, (long)ow);
  EXPECT(fvx_tfc_forward(t, x, N, H, W, y, scale) == FVX_OK, "forward");
  EXPECT(fvx_tfc_forward(t, x, N, H, W, y2, NULL) == FVX_OK, "forward without scale");
  EXPECT(memcmp(y, y2, sizeof(float) * N * CO * oh * ow) == 0, "the scale argument changed y");
  for (int n = 0; n < N; ++n) {
    double pooled[CI], hidden[HID], want_scale[CI];
    for (int c = 0; c < CI; ++c) {
      double acc = 0, mx = -INFINITY;
      for (int p = 0; p < H * W; ++p) {
        const double v = x[(n * CI + c) * H * W + p];
        acc += v;
        mx = v > mx ? v : mx;
      }
      pooled[c] = pool == FVX_POOL_AVG ? acc / (H * W) : mx;
    }
    for (int r = 0; r < HID; ++r) {
      double acc = b1[r];
      for (int c = 0; c < CI; ++c) acc += (double)w1[r * CI + c] * pooled[c];
      hidden[r] = acc > 0 ? acc : 0;
    }
    for (int c = 0; c < CI; ++c) {
      double acc = b2[c];
      for (int r = 0; r < HID; ++r) acc += (double)w2[c * HID + r] * hidden[r];
      want_scale[c] = 1.0 / (1.0 + exp(-acc));
      EXPECT(fabs(scale[n * CI + c] - want_scale[c]) <= 1e-5 * want_scale[c], "scale (%d,%d): %g vs %g", n, c,
             scale[n * CI + c], want_scale[c]);
    }
    for (int o = 0; o < CO; ++o)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          double acc = cb[o], mag = fabs(cb[o]);
          for (int c = 0; c < CI; ++c)
            for (int dy = 0; dy < k; ++dy)
              for (int dx = 0; dx < k; ++dx) {
                const int ih = i * stride - pad + dy, iw = j * stride - pad + dx;
                if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                const double term = (double)cw[((o * CI + c) * k + dy) * k + dx] * want_scale[c] *
                                    x[((n * CI + c) * H + ih) * W + iw];
                acc += term;
                mag += fabs(term);
              }
          const float got = y[((n * CO + o) * oh + i) * ow + j];
          EXPECT(fabs(got - acc) <= 1e-5 * mag, "tfc pool=%d k=%d s=%d p=%d y(%d,%d,%d,%d): %g vs %g", pool, k, stride,
                 pad, n, o, i, j, got, acc);
        }
  }
  fvx_tfc_destroy(t);
}

int main(void) {
#if defined(FASTVFX_HAVE_NEON)
  /* An AArch64 build runs its NEON variants unless told otherwise. */
  EXPECT(getenv("FASTVFX_ISA") != NULL || strcmp(fvx_isa(), "neon") == 0, "default ISA %s, not neon", fvx_isa());
#endif
  test_statuses();
  test_tfc_statuses();
  const char* isas[] = {"scalar", "avx2", "avx512", "neon"};
  for (int i = 0; i < 4; ++i) {
    if (fvx_set_isa(isas[i]) != FVX_OK) continue;
    printf("testing %s\n", isas[i]);
    test_shift();
    test_dwconv_stream();
    test_tfc(FVX_POOL_AVG, 1, 1, 0);
    test_tfc(FVX_POOL_MAX, 1, 1, 0);
    test_tfc(FVX_POOL_AVG, 3, 2, 1);
    test_tfc(FVX_POOL_MAX, 3, 1, 1);
  }
  printf("c_api: %s (%d failures)\n", failures ? "FAILED" : "passed", failures);
  return failures ? 1 : 0;
}
