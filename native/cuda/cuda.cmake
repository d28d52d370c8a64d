# libvit4j_cuda.so (native/cuda), included by the top-level CMakeLists.txt: the JNI library of
# org.vit4j.backend.cuda.CudaNative, which binds the CUDA entry points JCuda 12.6 lacks
# (cuTensorMapEncodeTiled, cuLaunchKernelEx; cublasGemmEx of the installed cuBLAS) by dlopen at run
# time. Needs cuda.h (the toolkit's headers only: no GPU, no libcuda, no cuBLAS) and jni.h. Also the
# fakes its tests load instead of the real libraries (native/cuda/tests), and a CTest check that the
# library links nothing of CUDA.
enable_language(C CXX)
get_filename_component(nvcc_dir "${NVCC}" DIRECTORY)
find_path(VIT4J_CUDA_INCLUDE cuda.h HINTS ${nvcc_dir}/../include /usr/local/cuda/include)
if(NOT VIT4J_CUDA_INCLUDE)
  message(WARNING "vit4j: cuda.h not found (the CUDA toolkit's headers): libvit4j_cuda.so is not built")
  return()
endif()
if(NOT VIT4J_JNI_INCLUDE)
  message(WARNING "vit4j: no JDK headers (jni.h) found: libvit4j_cuda.so is not built")
  return()
endif()
message(STATUS "vit4j: libvit4j_cuda.so with ${VIT4J_CUDA_INCLUDE}/cuda.h")

set(cuda_native_dir ${CMAKE_SOURCE_DIR}/native/cuda)
add_library(vit4j_cuda SHARED ${cuda_native_dir}/vit4j_cuda.cpp)
target_compile_features(vit4j_cuda PRIVATE cxx_std_17)
# The include directory of cuda.h only: no CUDA library is linked (dlopen at run time).
target_include_directories(vit4j_cuda PRIVATE ${cuda_native_dir} ${VIT4J_CUDA_INCLUDE} ${VIT4J_JNI_INCLUDE}
                           ${VIT4J_JNI_INCLUDE}/linux)
target_compile_options(vit4j_cuda PRIVATE -O2 -Wall -Wextra -Werror -fvisibility=hidden)
target_link_libraries(vit4j_cuda PRIVATE ${CMAKE_DL_LIBS})
# Statically linked C++ runtime: the jar's library then loads on hosts with an older libstdc++.
target_link_options(vit4j_cuda PRIVATE -static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL)
set_target_properties(vit4j_cuda PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/native
                      POSITION_INDEPENDENT_CODE ON)

# ---- the fakes CudaNativeTest (vit4j-tests) loads instead of the driver and cuBLAS ----------------------
# build/native/fake/<variant>/<soname>; the test copies them into directories of its own.
function(vit4j_cuda_fake target src soname variant)
  add_library(${target} SHARED ${cuda_native_dir}/tests/${src})
  target_include_directories(${target} PRIVATE ${cuda_native_dir}/tests ${VIT4J_CUDA_INCLUDE})
  target_compile_options(${target} PRIVATE -O1 -Wall -Werror -fvisibility=hidden)
  target_compile_definitions(${target} PRIVATE ${ARGN})
  target_link_libraries(${target} PRIVATE ${CMAKE_DL_LIBS})
  set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/native/fake/${variant}
                        OUTPUT_NAME ${soname} PREFIX "" SUFFIX "" NO_SONAME ON)
endfunction()
vit4j_cuda_fake(vit4j_fake_cuda fake_cuda.c libcuda.so.1 cuda)
vit4j_cuda_fake(vit4j_fake_cuda_noproc fake_cuda.c libcuda.so.1 cuda-no-proc-address FAKE_NO_PROC_ADDRESS)
vit4j_cuda_fake(vit4j_fake_cublas fake_cublas.c libcublas.so.13 cublas)
vit4j_cuda_fake(vit4j_fake_cublas_nogemm fake_cublas.c libcublas.so.13 cublas-no-gemmex FAKE_NO_GEMMEX)
vit4j_cuda_fake(vit4j_fake_cublaslt fake_cublaslt.c libcublasLt.so.13 cublas)

# The library must not depend on any CUDA library at load time (it is loaded on hosts without one):
# none of its DT_NEEDED entries may name libcuda, libcudart or libcublas*.
enable_testing()
add_test(NAME vit4j_cuda.links_no_cuda
         COMMAND ${CMAKE_COMMAND} -DLIB=$<TARGET_FILE:vit4j_cuda> -P ${cuda_native_dir}/tests/links_no_cuda.cmake)
