#!/usr/bin/env bash
# The VXLAN end-to-end scenario with the plugin run as a container (docker run, NET_ADMIN only).
LAUNCHER=container exec bash "$(dirname "$0")/vxlan-scenario.sh"
