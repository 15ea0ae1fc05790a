<?php
// An object in the session, as old sites keep them: Swift pages never interpret it, and write
// it back byte for byte when they change another key.
class Profile
{
    public function __construct(public string $name, public int $since = 0)
    {
    }
}
