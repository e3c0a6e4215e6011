/* The nonewprivs test image's program (kubernetes/test/images/nonewprivs prints the same line):
   run setuid root as user 1000, it shows whether no_new_privs kept the setuid bit from working. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
	printf("Effective uid: %d\n", (int)geteuid());
	return 0;
}
