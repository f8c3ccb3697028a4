# The plugin as a container image: nothing but the static binary, built
# outside (make build). Run it with the least privilege it needs:
#   docker run -d --net=host --cap-add NET_ADMIN \
#     -v /run/docker/plugins:/run/docker/plugins \
#     -v /var/lib/docker-vxlan-plugin:/var/lib/docker-vxlan-plugin docker-vxlan-plugin:dev
FROM scratch
COPY bin/docker-vxlan-plugin /docker-vxlan-plugin
ENTRYPOINT ["/docker-vxlan-plugin"]
