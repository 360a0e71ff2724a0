# shellcheck shell=bash
scenario x_explore "exploration"
scenario_x_explore() {
	local img root state
	img=$(overinit_image default)
	root=$(root_disk default)
	state=$(state_disk x)
	BOOT_TIMEOUT=20 boot x-noroot "overinit.state=/dev/vdb" "$img" "$root:ro" "$state"
	BOOT_TIMEOUT=40 boot x-uuid "root=UUID=01234567-89ab-cdef-0123-456789abcdef overinit.timeout=2 overinit.state=/dev/vdb overinit.on_error=halt" "$img" "$root:ro" "$state"
}
