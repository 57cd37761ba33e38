-- Derives case $1 from its sources again (gw_refresh_case).
SELECT gw_refresh_case($1)
