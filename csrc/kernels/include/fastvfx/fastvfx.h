/* fastvfx C API: the torch-free kernels for applications on boards.
 *
 * Plain C (usable from C and C++), linked against libfastvfx_kernels (and
 * libstdc++ / pthreads, which the static library needs). Every function that
 * can fail returns a status: FVX_OK (0) on success, and a nonzero FVX_ERR_*
 * code for any argument it can check; it never aborts on bad arguments.
 * fvx_status_string names a status.
 *
 * Tensors are dense float32 arrays in row-major (C) order, described by
 * their sizes. Threads: the kernels split work over fvx_set_num_threads
 * threads (default: the hardware concurrency, or FASTVFX_NUM_THREADS).
 */
#ifndef FASTVFX_FASTVFX_H_
#define FASTVFX_FASTVFX_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
#define FVX_OK 0
#define FVX_ERR_NULL 1       /* a required pointer is null */
#define FVX_ERR_SIZE 2       /* a size is non-positive or the sizes do not fit together */
#define FVX_ERR_ARGUMENT 3   /* an option is out of range (mode, fold_div, stride, activation, ISA name) */
#define FVX_ERR_MEMORY 4     /* allocation failed */
#define FVX_ERR_UNSUPPORTED 5 /* the ISA is not compiled in or not supported by this CPU */

/* Temporal shift modes (TSM). */
#define FVX_SHIFT_BIDIRECTIONAL 0 /* channels [0,fold) take frame t+1, [fold,2fold) take t-1 */
#define FVX_SHIFT_PAST 1          /* channels [0,fold) take frame t-1 (online TSM) */

/* Activations fused into the causal depthwise Conv3D. */
#define FVX_ACT_NONE 0
#define FVX_ACT_RELU 1
#define FVX_ACT_RELU6 2
#define FVX_ACT_HARDSWISH 3
#define FVX_ACT_SWISH 4

/* Library version, e.g. "0.1.0". */
const char* fvx_version(void);
/* The instruction set the kernels use now: "scalar", "avx2", "avx512", "neon". */
const char* fvx_isa(void);
/* Select the instruction set by name; FVX_ERR_ARGUMENT for an unknown name,
 * FVX_ERR_UNSUPPORTED when it is not compiled in or this CPU lacks it. */
int fvx_set_isa(const char* name);
/* Threads the kernels use (n >= 1). */
int fvx_set_num_threads(int n);
/* A short description of a status code. */
const char* fvx_status_string(int status);

/* Temporal shift in place on NCHW frames laid out
 *   ((b * n_segment + t) * channels + c) * height * width + h * width + w,
 * with fold = channels / fold_div. Only the shifted channels are touched. */
int fvx_temporal_shift_f32(float* x, int64_t n_batch, int64_t n_segment, int64_t channels,
                           int64_t height, int64_t width, int64_t fold_div, int mode);

/* One online TSM step: x (n, channels, height, width) is the current frame,
 * cache (n, fold, height, width) channels [0, fold) of the previous one
 * (zeros before the first). Swaps them in place. */
int fvx_temporal_shift_online_f32(float* x, float* cache, int64_t n, int64_t channels,
                                  int64_t height, int64_t width, int64_t fold);

/* Streaming causal depthwise Conv3D (MoViNets): a state that owns copies of
 * the weights and the ring of the last kT-1 input frames. */
typedef struct fvx_dwconv3d fvx_dwconv3d;

/* weight: (channels, kt, kh, kw); bias: (channels) or NULL. Spatial stride
 * stride_h, stride_w in [1, 8]. same_padding != 0: TensorFlow "same" (the
 * odd extra pixel bottom / right), pad_h / pad_w ignored; otherwise
 * symmetric zero padding pad_h, pad_w. The state starts at the beginning of
 * a video (zeros). */
int fvx_dwconv3d_create(fvx_dwconv3d** state, int64_t batch, int64_t channels, int64_t height,
                        int64_t width, int64_t kt, int64_t kh, int64_t kw, int64_t stride_h,
                        int64_t stride_w, int same_padding, int64_t pad_h, int64_t pad_w,
                        const float* weight, const float* bias, int activation);
/* Output frame size. */
int fvx_dwconv3d_output_size(const fvx_dwconv3d* state, int64_t* out_height, int64_t* out_width);
/* The next t >= 1 frames x (batch, channels, t, height, width) -> y (batch,
 * channels, t, out_height, out_width). Any chunking of a clip gives the same
 * outputs as the whole clip. */
int fvx_dwconv3d_step(fvx_dwconv3d* state, const float* x, int64_t t, float* y);
/* Back to the start of a video. */
int fvx_dwconv3d_reset(fvx_dwconv3d* state);
/* Frees the state (NULL is allowed). */
void fvx_dwconv3d_destroy(fvx_dwconv3d* state);

/* Temporal Focus Convolution (SqueezeTime): per sample, a gate turns the
 * globally pooled input into one scale per input channel,
 *   scale = sigmoid(fc2_weight · relu(fc1_weight · pool(x) + fc1_bias) + fc2_bias),
 * and y = conv2d(x * scale, conv_weight) + conv_bias (x * scale is never
 * written). A BatchNorm between fc1 and the ReLU (as the released models
 * have) is folded into fc1_weight / fc1_bias by the caller:
 *   w' = w * gamma / sqrt(var + eps),  b' = (b - mean) * gamma / sqrt(var + eps) + beta.
 * The object owns copies of the weights and its scratch memory; use one
 * object from one thread at a time. */
#define FVX_POOL_AVG 0 /* the official code */
#define FVX_POOL_MAX 1 /* the paper's text */

typedef struct fvx_tfc fvx_tfc;

/* conv_weight: (out_channels, in_channels, kernel_h, kernel_w), conv_bias:
 * (out_channels) or NULL; fc1_weight: (hidden, in_channels), fc1_bias:
 * (hidden) or NULL; fc2_weight: (in_channels, hidden), fc2_bias: (in_channels)
 * or NULL. Symmetric zero padding pad_h, pad_w >= 0; stride >= 1. */
int fvx_tfc_create(fvx_tfc** tfc, int64_t in_channels, int64_t out_channels, int64_t hidden,
                   int64_t kernel_h, int64_t kernel_w, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                   int64_t pad_w, const float* conv_weight, const float* conv_bias, const float* fc1_weight,
                   const float* fc1_bias, const float* fc2_weight, const float* fc2_bias, int pool);
/* Output frame size for an input of height x width (FVX_ERR_SIZE when the
 * kernel does not fit the padded input). */
int fvx_tfc_output_size(const fvx_tfc* tfc, int64_t height, int64_t width, int64_t* out_height,
                        int64_t* out_width);
/* x (n, in_channels, height, width) -> y (n, out_channels, out_height,
 * out_width); scale receives the gate (n, in_channels) when not NULL (the
 * IOI branch of a CTL block uses it). y must not overlap x. */
int fvx_tfc_forward(fvx_tfc* tfc, const float* x, int64_t n, int64_t height, int64_t width, float* y,
                    float* scale);
/* Frees the object (NULL is allowed). */
void fvx_tfc_destroy(fvx_tfc* tfc);

#ifdef __cplusplus
}
#endif

#endif /* FASTVFX_FASTVFX_H_ */
