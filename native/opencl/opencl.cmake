# libvit4j_poclidle.so (native/opencl), included by the top-level CMakeLists.txt: the JNI library of
# org.vit4j.backend.opencl.PoclIdle, which lets PoCL's idle CPU workers spin before they sleep
# (pocl_idle.c says why and how). Needs a C compiler and jni.h. Also its test: a fake PoCL pthread
# device library (tests/fake_pocl_pthread.c, built under the same file name) whose worker waits as
# PoCL's scheduler does, and pocl_idle_test, which patches it and checks the policy.
enable_language(C)
if(NOT VIT4J_JNI_INCLUDE)
  message(WARNING "vit4j: no JDK headers (jni.h) found: libvit4j_poclidle.so is not built")
  return()
endif()
set(opencl_native_dir ${CMAKE_SOURCE_DIR}/native/opencl)
find_package(Threads REQUIRED)

add_library(vit4j_poclidle SHARED ${opencl_native_dir}/pocl_idle.c)
target_include_directories(vit4j_poclidle PRIVATE ${VIT4J_JNI_INCLUDE} ${VIT4J_JNI_INCLUDE}/linux)
target_compile_options(vit4j_poclidle PRIVATE -O2 -std=gnu11 -Wall -Wextra -Werror -fvisibility=hidden)
target_link_libraries(vit4j_poclidle PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
set_target_properties(vit4j_poclidle PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/native
                      POSITION_INDEPENDENT_CODE ON)

# The fake, linked as Debian links PoCL (-z now, -z relro: a read-only GOT after loading), so the test
# covers the write through mprotect.
add_library(vit4j_fake_pocl_pthread SHARED ${opencl_native_dir}/tests/fake_pocl_pthread.c)
target_compile_options(vit4j_fake_pocl_pthread PRIVATE -O1 -Wall -Werror)
target_link_libraries(vit4j_fake_pocl_pthread PRIVATE Threads::Threads)
target_link_options(vit4j_fake_pocl_pthread PRIVATE -Wl,-z,now -Wl,-z,relro)
set_target_properties(vit4j_fake_pocl_pthread PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/native/fake/pocl
                      OUTPUT_NAME libpocl-devices-pthread.so PREFIX "" SUFFIX "" NO_SONAME ON)

add_executable(pocl_idle_test ${opencl_native_dir}/tests/pocl_idle_test.c)
target_compile_options(pocl_idle_test PRIVATE -O1 -Wall -Werror)
target_link_libraries(pocl_idle_test PRIVATE vit4j_poclidle ${CMAKE_DL_LIBS} Threads::Threads)
add_dependencies(pocl_idle_test vit4j_fake_pocl_pthread)
enable_testing()
add_test(NAME pocl_idle COMMAND pocl_idle_test $<TARGET_FILE:vit4j_fake_pocl_pthread>)
# Alone: it times a spinning thread, which CTest's other tests (-j) would crowd.
set_tests_properties(pocl_idle PROPERTIES RUN_SERIAL TRUE)
