# Checks that the NEON variant of every kernel family in a static
# libfastvfx_kernels really is NEON code: its object file must use 128-bit
# vector arithmetic on four floats (AArch64: fmla / fadd / fmax ... v.4s;
# 32-bit ARM: vfma / vadd / vmax ... .f32 q), or for the byte movers 128-bit
# vector loads and stores.
# Usage: cmake -DOBJDUMP=<objdump> -DLIB=<libfastvfx_kernels.a> -P check_neon.cmake
execute_process(COMMAND ${OBJDUMP} -d ${LIB} OUTPUT_VARIABLE dis RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} -d ${LIB} failed")
endif()
set(failed FALSE)
foreach(member move_ukernels_neon dwconv3d_neon pool_ukernels_neon gemm_neon pointwise_neon)
  string(FIND "${dis}" "\n${member}.cpp.o:" start)
  if(start EQUAL -1)
    message(SEND_ERROR "${member}.cpp.o is not in ${LIB}")
    set(failed TRUE)
    continue()
  endif()
  string(SUBSTRING "${dis}" ${start} -1 rest)
  string(SUBSTRING "${rest}" 1 -1 rest)
  string(FIND "${rest}" "\n" first_line_end)
  string(SUBSTRING "${rest}" ${first_line_end} -1 body)
  string(FIND "${body}" "file format" next)
  if(NOT next EQUAL -1)
    string(SUBSTRING "${body}" 0 ${next} body)
  endif()
  # Float vector arithmetic (not just loads and stores, which memcpy has too).
  string(REGEX MATCHALL "\t(fmla|fmul|fadd|fmax|fmaxnm)\tv[0-9]+\\.4s|\tv(fma|mla|mul|add|max)\\.f32\tq[0-9]+"
         ops "${body}")
  list(LENGTH ops count)
  if(member STREQUAL "move_ukernels_neon")
    # Pure data movement: 128-bit q-register loads and stores.
    string(REGEX MATCHALL "\t(ldr|str|ldp|stp|ld1|st1)\tq[0-9]+|\tv(ld1|st1)\\.[0-9]+\t\\{d[0-9]+-d" ops "${body}")
    list(LENGTH ops count)
  endif()
  message(STATUS "${member}: ${count} NEON vector instructions")
  if(count EQUAL 0)
    message(SEND_ERROR "${member}.cpp.o has no NEON vector code: the NEON variant is scalar code")
    set(failed TRUE)
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "NEON check failed")
endif()
