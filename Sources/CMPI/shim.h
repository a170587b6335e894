// Open MPI's C API. Its predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, …) are
// macros over casts of global symbols, which Swift cannot import: these accessors return them.
#include <mpi.h>

static inline MPI_Comm tessera_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype tessera_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype tessera_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype tessera_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype tessera_mpi_char(void) { return MPI_CHAR; }
static inline MPI_Op tessera_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op tessera_mpi_max(void) { return MPI_MAX; }
static inline void *tessera_mpi_in_place(void) { return MPI_IN_PLACE; }
