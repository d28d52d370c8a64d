# Runs a mutant's standalone checks in both thread orders; passes when at least one order reports a
# failed check (exit 1 from sa::finish), i.e. when the harness catches the mutation. A crash or a
# clean pass in both orders fails. Input: EXE, and ARGS (optional: one argument for it).
set(caught "")
foreach(order forward reverse)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env VIT4J_CUDA_CPU_ORDER=${order} ${EXE} ${ARGS}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX MATCHALL "FAIL" fails "${out}")
  list(LENGTH fails n)
  message(STATUS "${order} order: exit ${rc}, ${n} failed check(s)")
  if(rc EQUAL 1 AND n GREATER 0)
    list(APPEND caught ${order})
  endif()
endforeach()
if(NOT caught)
  message(FATAL_ERROR "the mutant passed its checks in both thread orders: the harness did not catch it")
endif()
message(STATUS "caught in: ${caught}")
